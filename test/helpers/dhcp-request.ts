// The client request builder lives beside the codec (the server's warm-up uses it too).
export { clientPacket } from '../../src/server/dhcp/client-request.js';
