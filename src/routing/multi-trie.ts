interface Node<T> {
  members?: Set<T>;
  children?: Map<number, Node<T>>;
}

/**
 * Prefix subscriptions of many subscribers (the PUB side): each topic maps to
 * the set of subscribers that asked for it. One walk over a message's first
 * frame finds every matching subscriber, however many topics there are.
 *
 * Subscriptions are not counted per member here, as in libzmq's mtrie: a
 * member subscribed twice to a topic is removed by one cancel. Counting is
 * the subscriber's job, which sends CANCEL only for its last reference.
 */
export class MultiTrie<T> {
  private readonly root: Node<T> = {};

  /** Adds `member` under `topic`; true when the topic had no members before. */
  add(topic: Uint8Array, member: T): { added: boolean; firstForTopic: boolean } {
    let node = this.root;
    for (const byte of topic) {
      node.children ??= new Map();
      let child = node.children.get(byte);
      if (!child) {
        child = {};
        node.children.set(byte, child);
      }
      node = child;
    }
    node.members ??= new Set();
    const firstForTopic = node.members.size === 0;
    const added = !node.members.has(member);
    node.members.add(member);
    return { added, firstForTopic: firstForTopic && added };
  }

  /** Removes `member` from `topic`; reports whether it was there and whether the topic is now unused. */
  remove(topic: Uint8Array, member: T): { removed: boolean; lastForTopic: boolean } {
    const path: Node<T>[] = [this.root];
    let node = this.root;
    for (const byte of topic) {
      const child = node.children?.get(byte);
      if (!child) return { removed: false, lastForTopic: false };
      node = child;
      path.push(node);
    }
    if (!node.members?.delete(member)) return { removed: false, lastForTopic: false };
    const lastForTopic = node.members.size === 0;
    if (lastForTopic) {
      node.members = undefined;
      this.prune(topic, path);
    }
    return { removed: true, lastForTopic };
  }

  /** Removes `member` everywhere; calls `onTopicEmptied` for each topic nobody wants any more. */
  removeMember(member: T, onTopicEmptied?: (topic: Buffer) => void): void {
    const emptied: Buffer[] = [];
    const visit = (node: Node<T>, prefix: number[]): void => {
      if (node.members?.delete(member) && node.members.size === 0) {
        node.members = undefined;
        emptied.push(Buffer.from(prefix));
      }
      if (node.children) for (const [byte, child] of node.children) visit(child, [...prefix, byte]);
    };
    visit(this.root, []);
    for (const topic of emptied) {
      const path: Node<T>[] = [this.root];
      let node = this.root;
      for (const byte of topic) {
        node = node.children!.get(byte)!;
        path.push(node);
      }
      this.prune(topic, path);
      onTopicEmptied?.(topic);
    }
  }

  /** Calls `visit` once per member subscribed to a prefix of `data`. A member may be visited more than once if it holds several matching prefixes; callers de-duplicate. */
  match(data: Uint8Array, visit: (member: T) => void): void {
    let node: Node<T> | undefined = this.root;
    let i = 0;
    for (;;) {
      if (node.members) for (const member of node.members) visit(member);
      if (i >= data.length) return;
      node = node.children?.get(data[i++]!);
      if (!node) return;
    }
  }

  /** Whether anyone is subscribed to exactly `topic`. */
  has(topic: Uint8Array): boolean {
    let node: Node<T> | undefined = this.root;
    for (const byte of topic) {
      node = node.children?.get(byte);
      if (!node) return false;
    }
    return (node.members?.size ?? 0) > 0;
  }

  private prune(topic: Uint8Array, path: Node<T>[]): void {
    for (let depth = topic.length; depth > 0; depth--) {
      const current = path[depth]!;
      if (current.members || (current.children && current.children.size > 0)) break;
      path[depth - 1]!.children!.delete(topic[depth - 1]!);
    }
  }
}
