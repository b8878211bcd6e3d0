/** Internals of Binary Star: the sans-IO state machine and the state-message codec (see `privateer/internal`). */
export {
  STATE_DIGIT,
  TERM_PREFIX,
  decodeState,
  encodeState,
  initialContext,
  onClientRequest,
  onPeerState,
  afterStall,
  isStall,
  isFenced,
  step as binaryStarStep,
  type DecodedState,
  type FsmContext as BinaryStarFsmContext,
  type FsmStep as BinaryStarFsmStep,
} from "./fsm";
