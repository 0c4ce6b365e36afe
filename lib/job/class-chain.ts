/** A class and its ancestors up to (not including) `Function.prototype`, the oldest first. */
export function ancestorsFirst(jobClass: object): object[] {
  const chain: object[] = [];
  for (let c: object | null = jobClass; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c);
  return chain;
}
