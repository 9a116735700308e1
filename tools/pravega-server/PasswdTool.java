// Prints the password-file line Pravega's PasswordAuthHandler expects for one user, using the
// server's own password hashing (run with the server's classpath: java -cp <cp> PasswdTool.java).
import io.pravega.shared.security.crypto.StrongPasswordProcessor;

public class PasswdTool {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: PasswdTool <user> <password> <acl>");
            System.exit(2);
        }
        String hash = StrongPasswordProcessor.builder().build().encryptPassword(args[1]);
        System.out.println(args[0] + ":" + hash + ":" + args[2]);
    }
}
