#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import HearthKernelsAVX2

/// A persistent pool of compute threads for the kernels (design.md decision 5).
///
/// `run(body)` calls `body(t, threadCount)` once for every `t` in `0..<threadCount`: the calling thread runs
/// `t == 0`, the workers the rest, and `run` returns when all have finished (one barrier). `runChunks` instead
/// returns when every chunk is done, whoever did it: a worker that has not turned up (preempted by another
/// process) does not hold the job back. Workers are pinned to distinct CPUs of the process's affinity mask, spin
/// for a short while after each job, then park on a condition variable. Neither is reentrant: call them from one
/// thread at a time, never from inside `body`.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads taking part in each `run`, the caller included.
    public var threadCount: Int { count }

    private let count: Int
    private var workers: [pthread_t] = []
    /// Changed once per job; workers wait for it to change. `sequence << 1 | 1` for a `run` job (every thread
    /// takes part), `sequence << 1` for a `runChunks` job (threads take chunks while there are any). Written only
    /// by the calling thread.
    private let generation = Atomic<UInt64>(0)
    private var sequence: UInt64 = 0
    /// Count of finished worker jobs, cumulative over runs.
    private let finished = Atomic<UInt64>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The chunks of the current `runChunks` job: tag (24 bits, one per job) | chunk count (20) | next
    /// unclaimed chunk (20). A thread claims chunk `next` by compare-and-swap on the whole word, so a claim can only
    /// succeed while that job is live: the fields below are read after a successful claim, and the caller does
    /// not change them before every claimed chunk is done. A late worker cannot take part in a finished job.
    private let claim = Atomic<UInt64>(0)
    /// Chunks of the current `runChunks` job that are done.
    private let completed = Atomic<Int>(0)
    private var chunkTag: UInt64 = 0
    private var chunkItems = 0
    private var chunkGrain = 1
    private var chunkBody: ((Int, Int, Int) -> Void)?
    private var chunkPrepare: ((Int) -> Void)?
    private var job: ((Int, Int) -> Void)?
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var cpus: [Int]
    private var pinnedCaller: pthread_t?
    private var target: UInt64 = 0
    /// Scratch owned by the pool (activation buffers, per-thread panels); only touched inside `run` jobs or by
    /// the thread that calls `run`.
    let scratch: MatmulScratch

    /// How long a worker spins for the next job before it parks, in nanoseconds (`HEARTH_SPIN_US`, default
    /// 2000 µs). Measured in time, not iterations: a server's forward passes are separated by sampling and by the
    /// threads that deliver the token, often 0.1–1 ms; a worker that parked in that gap costs a futex wake-up
    /// (tens of µs, and a preempted core) at the next pass. Spinning a little longer is cheaper.
    static let spinNanos: UInt64 = {
        if let v = getenv("HEARTH_SPIN_US"), let n = UInt64(String(cString: v)) { return n * 1000 }
        return 2_000_000
    }()

    @inline(__always) static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    public init(threads: Int = ThreadPool.defaultThreadCount) {
        count = max(1, threads)
        cpus = ThreadPool.processCPUs
        scratch = MatmulScratch(threads: max(1, threads))
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for t in 1..<count {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: t))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(start.index)
                return nil
            }, box.toOpaque())
            // No threads to compute on (the OS refused one): not recoverable for an inference process.
            if rc != 0 { fatalError("ThreadPool: pthread_create failed (\(rc))") }
            workers.append(tid)
        }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        sequence &+= 1
        generation.store(sequence << 1 | 1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        for tid in workers { pthread_join(tid, nil) }
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body(thread, threadCount)` on every thread of the pool and returns when all have finished.
    public func run(_ body: (_ thread: Int, _ threadCount: Int) -> Void) {
        if count == 1 { body(0, 1); return }
        pinCallerIfNeeded()
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            target &+= UInt64(count - 1)
            publish(kind: 1)
            escaping(0, count)
            let target = self.target
            spin { finished.load(ordering: .acquiring) == target }
            job = nil
        }
    }

    /// Splits `0..<items` into chunks of `grain` (the last may be shorter) that the threads claim as they go:
    /// `body(thread, start, end)` per chunk, `prepare(thread)` once per thread before its first chunk. For
    /// memory-bound GEMVs a static half-and-half split left one thread waiting for the other at every op (the
    /// two cores do not stream at the same rate); claiming chunks balances them. Each item is computed whole by
    /// one call, so results do not depend on which thread took it. Returns when every chunk is done: a served
    /// token wakes the threads that deliver it (and the client) on one of the two cores, and the thread they
    /// preempt is usually between jobs; the other goes on alone instead of waiting at every op until it is back.
    public func runChunks(items: Int, grain: Int, prepare: (_ thread: Int) -> Void = { _ in },
                          _ body: (_ thread: Int, _ start: Int, _ end: Int) -> Void) {
        let g = max(1, grain)
        if count == 1 || items <= g {
            if items > 0 { prepare(0); body(0, 0, items) }
            return
        }
        let chunks = (items + g - 1) / g
        if chunks >= 1 << 20 {  // more than the claim word counts: every thread takes part, chunks by counter
            let next = Atomic<Int>(0)
            run { t, _ in
                var prepared = false
                while true {
                    let s = next.wrappingAdd(g, ordering: .relaxed).oldValue
                    if s >= items { break }
                    if !prepared { prepare(t); prepared = true }
                    body(t, s, min(items, s + g))
                }
            }
            return
        }
        pinCallerIfNeeded()
        withoutActuallyEscaping(body) { escapingBody in
            withoutActuallyEscaping(prepare) { escapingPrepare in
                chunkBody = escapingBody
                chunkPrepare = escapingPrepare
                chunkItems = items
                chunkGrain = g
                completed.store(0, ordering: .relaxed)
                chunkTag = (chunkTag &+ 1) & 0xFF_FFFF
                claim.store(chunkTag << 40 | UInt64(chunks) << 20, ordering: .releasing)
                publish(kind: 0)
                takeChunks(thread: 0)
                spin { completed.load(ordering: .acquiring) == chunks }
                chunkBody = nil
                chunkPrepare = nil
            }
        }
    }

    /// Claims and runs chunks of the current `runChunks` job until none is left or the job is no longer the one
    /// this thread started with.
    private func takeChunks(thread: Int) {
        var word = claim.load(ordering: .acquiring)
        let tag = word >> 40
        var prepared = false
        while word >> 40 == tag {
            let chunks = (word >> 20) & 0xF_FFFF, next = word & 0xF_FFFF
            if next >= chunks { return }
            let (won, seen) = claim.compareExchange(expected: word, desired: word &+ 1,
                                                    successOrdering: .acquiring, failureOrdering: .acquiring)
            if !won { word = seen; continue }
            // Claimed: the job is live until this chunk is counted, so its fields are stable.
            if !prepared { chunkPrepare!(thread); prepared = true }
            let s = Int(next) * chunkGrain
            chunkBody!(thread, s, min(chunkItems, s + chunkGrain))
            completed.add(1, ordering: .releasing)
            word = claim.load(ordering: .acquiring)
        }
    }

    /// The calling thread's wait for a job's end: spins, yielding now and then so that a worker preempted on
    /// this CPU gets it back.
    @inline(__always) private func spin(until done: () -> Bool) {
        var spins = 0
        while !done() {
            cpuRelax()
            spins &+= 1
            if spins & 127 == 0 { sched_yield() }
        }
    }

    /// Starts a job for the workers (`kind` 1: `run`, 0: `runChunks`), waking any that parked.
    private func publish(kind: UInt64) {
        sequence &+= 1
        generation.store(sequence << 1 | kind, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&cond)
            pthread_mutex_unlock(&mutex)
        }
    }

    /// A grain that gives each thread about `perThread` chunks of `rows`, a multiple of `align`, each at least
    /// `minChunkBytes` of weights (`rowBytes` a row) and at most an even share.
    public func grain(rows: Int, align: Int, rowBytes: Int = 0, perThread: Int = 8) -> Int {
        let target = (rows + count * perThread - 1) / (count * perThread)
        let minRows = rowBytes > 0 ? (ThreadPool.minChunkBytes + rowBytes - 1) / rowBytes : 0
        let share = (rows + count - 1) / count
        let g = min(max(target, minRows), share)
        return max(align, (g + align - 1) / align * align)
    }

    nonisolated(unsafe) static var minChunkBytes: Int = {
        if let v = getenv("HEARTH_MIN_CHUNK"), let n = Int(String(cString: v)), n >= 0 { return n }
        return 256 << 10
    }()

    private func workerLoop(_ index: Int) {
        if !cpus.isEmpty { ThreadPool.pin(cpu: cpus[index % cpus.count]) }
        var seen: UInt64 = 0
        while true {
            var spins = 0
            var deadline: UInt64 = 0
            var gen = generation.load(ordering: .acquiring)
            while gen == seen {
                if spins == 0 { deadline = ThreadPool.nanoseconds() &+ ThreadPool.spinNanos }
                spins &+= 1
                cpuRelax()
                // Every few µs: give the CPU to a runnable thread queued on it (more threads than cores, or the
                // threads that deliver a served token), and park once the spin time is over.
                if spins & 127 == 0 {
                    sched_yield()
                    if ThreadPool.nanoseconds() >= deadline {
                        pthread_mutex_lock(&mutex)
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen {
                            pthread_cond_wait(&cond, &mutex)
                        }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        pthread_mutex_unlock(&mutex)
                        spins = 0
                    }
                }
                gen = generation.load(ordering: .acquiring)
            }
            seen = gen
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            if gen & 1 == 1 {
                // A `run` job cannot finish without this thread, so `job` is still this job's.
                job!(index, count)
                finished.add(1, ordering: .releasing)
            } else {
                takeChunks(thread: index)
            }
        }
    }

    private func pinCallerIfNeeded() {
        let me = pthread_self()
        if let p = pinnedCaller, pthread_equal(p, me) != 0 { return }
        pinnedCaller = me
        if !cpus.isEmpty { ThreadPool.pin(cpu: cpus[0]) }
    }

    // MARK: CPU topology

    /// Physical cores available to this process (CPUs in the affinity mask, SMT siblings counted once).
    public static let defaultThreadCount: Int = {
        let allowed = processCPUs
        var cores = Set<String>()
        for cpu in allowed {
            let base = "/sys/devices/system/cpu/cpu\(cpu)/topology/"
            if let core = readSmallFile(base + "core_id"), let pkg = readSmallFile(base + "physical_package_id") {
                cores.insert(pkg + ":" + core)
            } else {
                cores.insert("cpu\(cpu)")
            }
        }
        if !cores.isEmpty { return cores.count }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// The CPUs this process may run on, read once, before any pool pins a thread. A thread's own mask is not
    /// it: a thread that called `run` is pinned to one CPU, and a pool created later from that thread (a test
    /// loading a second model, a CLI command after a first) would have pinned all its workers to that one CPU.
    static let processCPUs: [Int] = allowedCPUs()

    /// CPUs the calling thread may run on, ascending.
    static func allowedCPUs() -> [Int] {
        #if os(Linux)
        var set = [UInt8](repeating: 0, count: cpuSetBytes)
        if set.withUnsafeMutableBytes({ c_sched_getaffinity(0, cpuSetBytes, $0.baseAddress!) }) == 0 {
            var list: [Int] = []
            for (i, byte) in set.enumerated() where byte != 0 {
                for bit in 0..<8 where byte & (1 << bit) != 0 { list.append(i * 8 + bit) }
            }
            if !list.isEmpty { return list }
        }
        #endif
        return Array(0..<max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    /// The CPUs for threads that deliver work rather than compute (a server's event loops), for pools of
    /// `computeThreads`: the CPUs no pool thread is pinned to, if any; otherwise all but the first, the one the
    /// thread that calls `run` is pinned to. That thread drives the forward pass and publishes every job, so a
    /// token's delivery that preempts it stalls both cores; one that preempts a worker stalls only that worker
    /// (`runChunks` goes on without it). Empty when there is nothing to choose (one CPU, or `HEARTH_PIN_IO=0`).
    public static func ioCPUs(computeThreads: Int) -> [Int] {
        guard pinning, getenv("HEARTH_PIN_IO").map({ String(cString: $0) != "0" }) ?? true else { return [] }
        let cpus = processCPUs
        if cpus.count <= 1 { return [] }
        if computeThreads < cpus.count { return Array(cpus[max(1, computeThreads)...]) }
        return Array(cpus.dropFirst())
    }

    /// Pins the calling thread to `cpus` (any of them); nothing when `cpus` is empty.
    public static func pinCurrentThread(to cpus: [Int]) {
        #if os(Linux)
        guard pinning, !cpus.isEmpty else { return }
        var set = [UInt8](repeating: 0, count: cpuSetBytes)
        for cpu in cpus where cpu >= 0 && cpu / 8 < set.count { set[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        _ = set.withUnsafeBytes { c_pthread_setaffinity_np(pthread_self(), cpuSetBytes, $0.baseAddress!) }
        #endif
    }

    /// `HEARTH_PIN=0` leaves the threads unpinned (A/B measurements).
    static let pinning: Bool = getenv("HEARTH_PIN").map { String(cString: $0) != "0" } ?? true

    static func pin(cpu: Int) {
        #if os(Linux)
        guard pinning else { return }
        var set = [UInt8](repeating: 0, count: cpuSetBytes)
        if cpu / 8 < set.count { set[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        _ = set.withUnsafeBytes { c_pthread_setaffinity_np(pthread_self(), cpuSetBytes, $0.baseAddress!) }
        #endif
    }

    private static func readSmallFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return nil }
        return String(String(cString: buf).filter { !$0.isWhitespace })
    }
}

#if os(Linux)
// glibc declares these only under _GNU_SOURCE, which Swift's Glibc module does not set.
/// Bytes of a glibc `cpu_set_t` (1024 CPUs).
private let cpuSetBytes = 128
@_silgen_name("sched_getaffinity")
private func c_sched_getaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32
@_silgen_name("pthread_setaffinity_np")
private func c_pthread_setaffinity_np(_ thread: pthread_t, _ size: Int, _ mask: UnsafeRawPointer) -> Int32
#endif

private final class WorkerStart {
    /// Unowned: the pool's deinit joins its workers before its memory goes.
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
}
