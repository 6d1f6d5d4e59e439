/// Reusable float buffers for a forward pass, grown on demand and kept between calls so a decode step does no
/// allocation. Not thread-safe: a model runs one forward pass at a time.
final class Scratch {
    private var buffers: [String: (UnsafeMutablePointer<Float>, Int)] = [:]

    func get(_ name: String, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let (p, n) = buffers[name], n >= count { return p }
        if let (p, _) = buffers[name] { p.deallocate() }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        buffers[name] = (p, max(count, 1))
        return p
    }

    deinit { for (p, _) in buffers.values { p.deallocate() } }
}
