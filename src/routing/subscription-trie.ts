interface Node {
  count: number;
  children?: Map<number, Node>;
}

/**
 * Counted prefix subscriptions (the SUB side): subscribing twice to a topic
 * needs two unsubscribes, and a message matches when any subscribed topic is
 * a prefix of it. The empty topic matches everything.
 */
export class SubscriptionTrie {
  private readonly root: Node = { count: 0 };
  private topics = 0;

  /** Number of distinct subscribed topics. */
  get size(): number {
    return this.topics;
  }

  /** Adds one reference to `topic`; true when the topic is new. */
  add(topic: Uint8Array): boolean {
    let node = this.root;
    for (const byte of topic) {
      node.children ??= new Map();
      let child = node.children.get(byte);
      if (!child) {
        child = { count: 0 };
        node.children.set(byte, child);
      }
      node = child;
    }
    node.count++;
    if (node.count === 1) this.topics++;
    return node.count === 1;
  }

  /** Drops one reference to `topic`; true when that was the last one. False also when it was never subscribed. */
  remove(topic: Uint8Array): boolean {
    const path: Node[] = [this.root];
    let node = this.root;
    for (const byte of topic) {
      const child = node.children?.get(byte);
      if (!child) return false;
      node = child;
      path.push(node);
    }
    if (node.count === 0) return false;
    node.count--;
    if (node.count > 0) return false;
    this.topics--;
    // Prune nodes that no longer lead to a subscription.
    for (let depth = topic.length; depth > 0; depth--) {
      const current = path[depth]!;
      if (current.count > 0 || (current.children && current.children.size > 0)) break;
      path[depth - 1]!.children!.delete(topic[depth - 1]!);
    }
    return true;
  }

  /** Does some subscribed topic prefix `data`? */
  matches(data: Uint8Array): boolean {
    let node: Node | undefined = this.root;
    if (node.count > 0) return true;
    for (let i = 0; i < data.length; i++) {
      node = node.children?.get(data[i]!);
      if (!node) return false;
      if (node.count > 0) return true;
    }
    return false;
  }

  /** Every subscribed topic with its reference count (to replay after a reconnect). */
  *entries(): Generator<[Buffer, number]> {
    const stack: [Node, number[]][] = [[this.root, []]];
    while (stack.length > 0) {
      const [node, prefix] = stack.pop()!;
      if (node.count > 0) yield [Buffer.from(prefix), node.count];
      if (node.children) for (const [byte, child] of node.children) stack.push([child, [...prefix, byte]]);
    }
  }

  clear(): void {
    this.root.count = 0;
    this.root.children = undefined;
    this.topics = 0;
  }
}
