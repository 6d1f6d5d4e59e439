/// An element that knows whether it comes before another (the merge order of a tokenizer).
protocol Prioritized {
    func before(_ other: Self) -> Bool
}

/// A binary heap whose top is the element that comes before all others; shared by the BPE merge queue
/// (lowest rank first) and the SentencePiece one (highest score first).
struct PriorityHeap<Element: Prioritized> {
    private var items: [Element] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ b: Element) {
        items.append(b)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i].before(items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l].before(items[m]) { m = l }
                if r < n && items[r].before(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
