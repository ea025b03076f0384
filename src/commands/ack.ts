/** The acknowledgement rule every protocol's replies follow (defined with the store's contract). */
export { acknowledged } from '../store/acknowledge.js';
