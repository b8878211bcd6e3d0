/** The option validators every pattern shares (one rule per name, in both families). */
export { positive, nonNegative } from "../shared/validate";
