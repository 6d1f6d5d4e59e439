/// Token text → id by exact bytes (llama.cpp's `token_to_id`, a `std::string` map). Swift `String` keys compare by
/// canonical equivalence, which would merge distinct vocabulary entries such as a precomposed and a decomposed
/// accent; this table compares bytes. A repeated text maps to its last id, as llama.cpp's map does.
struct ByteKeyTable: Sendable {
    /// All texts back to back; `offsets[i] ..< offsets[i + 1]` is text i.
    private let bytes: [UInt8]
    private let offsets: [Int32]
    /// Open addressing, linear probing; -1 is empty.
    private let slots: [Int32]
    private let mask: Int

    init(_ texts: [String]) {
        var bytes: [UInt8] = []
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(texts.count + 1)
        for t in texts {
            bytes.append(contentsOf: t.utf8)
            offsets.append(Int32(bytes.count))
        }
        var size = 16
        while size < texts.count * 2 { size <<= 1 }
        var slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<texts.count {
                let start = Int(offsets[i]), end = Int(offsets[i + 1])
                let key = UnsafeBufferPointer(rebasing: b[start..<end])
                var s = Int(truncatingIfNeeded: Self.hash(key)) & mask
                while true {
                    let id = slots[s]
                    if id < 0 { slots[s] = Int32(i); break }
                    let os = Int(offsets[Int(id)]), oe = Int(offsets[Int(id) + 1])
                    if oe - os == key.count && memEqual(b, os, key) { slots[s] = Int32(i); break }
                    s = (s + 1) & mask
                }
            }
        }
        self.bytes = bytes
        self.offsets = offsets
        self.slots = slots
        self.mask = mask
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h ^ (h >> 29)
    }

    /// The id of the token whose text is exactly these bytes, or -1.
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
        bytes.withUnsafeBufferPointer { b in
            var s = Int(truncatingIfNeeded: Self.hash(key)) & mask
            while true {
                let id = slots[s]
                if id < 0 { return -1 }
                let os = Int(offsets[Int(id)]), oe = Int(offsets[Int(id) + 1])
                if oe - os == key.count && memEqual(b, os, key) { return id }
                s = (s + 1) & mask
            }
        }
    }

    func find(_ text: String) -> Int32? {
        var t = text
        let id = t.withUTF8 { find($0) }
        return id >= 0 ? id : nil
    }
}

@inline(__always)
private func memEqual(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
    var k = 0
    while k < key.count {
        if b[start + k] != key[k] { return false }
        k += 1
    }
    return true
}
