/** The Pravega server version Tributary is tested against, and the images that run it. */
export const PRAVEGA_SERVER_VERSION = '0.13.0';

/** The official image (Docker Hub). */
export const OFFICIAL_PRAVEGA_IMAGE = `pravega/pravega:${PRAVEGA_SERVER_VERSION}`;

/**
 * The image `npm run pravega:image` builds from the Maven jars where the official one cannot be
 * pulled; its own name, so it is never mistaken for the official image.
 */
export const LOCAL_PRAVEGA_IMAGE = `tributary-local/pravega:${PRAVEGA_SERVER_VERSION}-standalone`;
