export { PravegaSink, type DeliveryGuarantee, type PravegaSinkSettings } from './pravega-sink.js';
