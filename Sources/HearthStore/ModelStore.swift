import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The model store, laid out as Ollama's (`~/.ollama/models`): content-addressed blobs `blobs/sha256-<hex>` and
/// one manifest file per name at `manifests/<host>/<namespace>/<model>/<tag>`.
///
/// Crash safety: every file is written under a temporary name (`.tmp-<pid>-<uuid>`) and renamed into place, and a
/// manifest is written only after every blob it names is in place with the right size (blob digests are verified
/// as they are written). Killing the process at any moment therefore leaves a model either absent or complete;
/// what a killed writer leaves behind is a temporary file, removed by the next writer once its pid is gone.
public struct ModelStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `HEARTH_MODELS` if set, else `~/.hearth/models`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["HEARTH_MODELS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".hearth/models")
    }

    public var blobsDirectory: URL { root.appendingPathComponent("blobs") }
    public var manifestsDirectory: URL { root.appendingPathComponent("manifests") }
    /// Partial downloads kept for resuming (`pull`).
    public var partialDirectory: URL { root.appendingPathComponent("partial") }

    /// The file holding a blob, for a `sha256:<hex>` digest.
    public func blobURL(_ digest: String) throws -> URL {
        let hex = try digestHex(digest, in: root.path)
        return blobsDirectory.appendingPathComponent("sha256-\(hex)")
    }

    func manifestURL(_ name: ModelName) -> URL {
        name.pathComponents.reduce(manifestsDirectory) { $0.appendingPathComponent($1) }
    }

    // MARK: Reading

    /// One installed model as `list` shows it.
    public struct Entry: Sendable {
        public var name: ModelName
        public var manifest: Manifest
        /// sha256 of the manifest's bytes, hex.
        public var manifestDigest: String
        public var modified: Date
        /// The first 12 hex digits of the manifest digest (Ollama's ID column).
        public var id: String { String(manifestDigest.prefix(12)) }
        public var size: Int64 { manifest.totalSize }
    }

    /// The model's manifest, or nil when no model has that name.
    public func entry(_ name: ModelName) throws -> Entry? {
        let url = manifestURL(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw StoreError.io(path: url.path, message: "cannot read the manifest: \(error.localizedDescription)")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw StoreError.corrupt(path: url.path, message: "not a manifest (schemaVersion, mediaType, config, layers expected): \(error)")
        }
        for layer in manifest.allLayers { _ = try digestHex(layer.digest, in: url.path) }
        let attrs = try? FileManager.default.attributesOfItem(atPath: url.path)
        let modified = attrs?[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        return Entry(name: name, manifest: manifest, manifestDigest: sha256Hex(data), modified: modified)
    }

    /// The model's manifest; an error naming the model when it is absent.
    public func require(_ name: ModelName) throws -> Entry {
        guard let e = try entry(name) else { throw StoreError.modelNotFound(name.description) }
        return e
    }

    /// Every installed model, most recently modified first (as `ollama list`).
    public func list() throws -> [Entry] {
        var out: [Entry] = []
        for components in manifestPaths() {
            guard let name = try? ModelName(host: components[0], namespace: components[1], model: components[2], tag: components[3]),
                  let e = try? entry(name) else { continue }
            out.append(e)
        }
        return out.sorted { $0.modified != $1.modified ? $0.modified > $1.modified : $0.name.description < $1.name.description }
    }

    /// `[host, namespace, model, tag]` of every manifest file (temporary files skipped).
    func manifestPaths() -> [[String]] {
        var out: [[String]] = []
        func walk(_ url: URL, _ prefix: [String]) {
            guard let items = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for item in items.sorted() where !item.hasPrefix(".") {
                let child = url.appendingPathComponent(item)
                if prefix.count == 3 {
                    var isDir: ObjCBool = false
                    if FileManager.default.fileExists(atPath: child.path, isDirectory: &isDir), !isDir.boolValue {
                        out.append(prefix + [item])
                    }
                } else {
                    walk(child, prefix + [item])
                }
            }
        }
        walk(manifestsDirectory, [])
        return out
    }

    /// A small blob's bytes (template, system prompt, params, messages, license, config).
    public func readBlob(_ layer: Manifest.Layer, limit: Int64 = 64 << 20) throws -> Data {
        let url = try blobURL(layer.digest)
        guard layer.size <= limit else {
            throw StoreError.corrupt(path: url.path, message: "a \(layer.mediaType) layer of \(layer.size) bytes is larger than \(limit)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw StoreError.corrupt(path: url.path, message: "blob missing (the store lost a file its manifest names)")
        }
        guard Int64(data.count) == layer.size else {
            throw StoreError.corrupt(path: url.path, message: "blob is \(data.count) bytes, the manifest says \(layer.size)")
        }
        return data
    }

    // MARK: Writing

    /// Stores bytes as a blob (a no-op when that blob exists) and returns its layer.
    public func writeBlob(_ data: Data, mediaType: String) throws -> Manifest.Layer {
        let digest = "sha256:" + sha256Hex(data)
        let url = try blobURL(digest)
        let layer = Manifest.Layer(mediaType: mediaType, digest: digest, size: Int64(data.count))
        if blobIsPresent(layer) { return layer }
        try createDirectory(blobsDirectory)
        let tmp = temporaryURL(in: blobsDirectory)
        do {
            try data.write(to: tmp)
            try rename(tmp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        return layer
    }

    /// Whether the blob exists with the layer's size.
    public func blobIsPresent(_ layer: Manifest.Layer) -> Bool {
        guard let url = try? blobURL(layer.digest) else { return false }
        var st = stat()
        return stat(url.path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && Int64(st.st_size) == layer.size
    }

    /// Moves a file whose sha256 the caller has verified into the blob store under that digest.
    func installVerified(_ file: URL, digest: String) throws {
        try createDirectory(blobsDirectory)
        try rename(file, to: try blobURL(digest))
    }

    /// Writes (or replaces) a name's manifest. Under the store lock, so a concurrent `rm`'s garbage collection
    /// cannot remove a blob between the check that every blob is present and the manifest's rename.
    public func writeManifest(_ manifest: Manifest, for name: ModelName) throws {
        let data = try manifest.encoded()
        try withLock {
            for layer in manifest.allLayers where !blobIsPresent(layer) {
                throw StoreError.corrupt(path: (try? blobURL(layer.digest).path) ?? layer.digest,
                                         message: "blob missing or of the wrong size for \(layer.mediaType); run the command again")
            }
            try writeManifestData(data, for: name)
        }
    }

    func writeManifestData(_ data: Data, for name: ModelName) throws {
        let url = manifestURL(name)
        let dir = url.deletingLastPathComponent()
        try createDirectory(dir)
        let tmp = temporaryURL(in: dir)
        do {
            try data.write(to: tmp)
            try rename(tmp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// `cp`: the destination gets the source's manifest byte for byte (so the same ID); it replaces any model of
    /// that name.
    public func copy(_ source: ModelName, to destination: ModelName) throws {
        _ = try require(source)
        try withLock {
            guard let data = FileManager.default.contents(atPath: manifestURL(source).path) else {
                throw StoreError.modelNotFound(source.description)
            }
            try writeManifestData(data, for: destination)
        }
    }

    /// `rm`: removes the manifest, then every blob no remaining manifest names. Returns the removed blob digests.
    @discardableResult
    public func remove(_ name: ModelName) throws -> [String] {
        try withLock {
            let url = manifestURL(name)
            guard FileManager.default.fileExists(atPath: url.path) else { throw StoreError.modelNotFound(name.description) }
            do { try FileManager.default.removeItem(at: url) } catch {
                throw StoreError.io(path: url.path, message: "cannot remove the manifest: \(error.localizedDescription)")
            }
            var dir = url.deletingLastPathComponent()
            while dir.path.count > manifestsDirectory.path.count,
                  let items = try? FileManager.default.contentsOfDirectory(atPath: dir.path), items.isEmpty {
                try? FileManager.default.removeItem(at: dir)
                dir = dir.deletingLastPathComponent()
            }
            return try collectGarbageLocked()
        }
    }

    /// Removes blobs that no manifest references (call under the lock).
    func collectGarbageLocked() throws -> [String] {
        var referenced = Set<String>()
        for c in manifestPaths() {
            let url = c.reduce(manifestsDirectory) { $0.appendingPathComponent($1) }
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            guard let m = try? JSONDecoder().decode(Manifest.self, from: data) else {
                // An unreadable manifest might still name blobs: keep everything rather than guess.
                throw StoreError.corrupt(path: url.path, message: "not a manifest; blobs were not garbage-collected")
            }
            for l in m.allLayers { referenced.insert(l.digest) }
        }
        var removed: [String] = []
        let items = (try? FileManager.default.contentsOfDirectory(atPath: blobsDirectory.path)) ?? []
        for item in items where item.hasPrefix("sha256-") {
            let digest = "sha256:" + item.dropFirst("sha256-".count)
            if !referenced.contains(digest) {
                try? FileManager.default.removeItem(at: blobsDirectory.appendingPathComponent(item))
                removed.append(digest)
            }
        }
        return removed
    }

    /// Deletes temporary files left by writers that were killed (their pid no longer runs).
    public func removeStaleTemporaries() {
        var dirs = [blobsDirectory]
        if let e = FileManager.default.enumerator(atPath: manifestsDirectory.path) {
            while let p = e.nextObject() as? String {
                let u = manifestsDirectory.appendingPathComponent(p)
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: u.path, isDirectory: &isDir), isDir.boolValue { dirs.append(u) }
            }
            dirs.append(manifestsDirectory)
        }
        for dir in dirs {
            for item in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where item.hasPrefix(".tmp-") {
                let pidText = item.dropFirst(5).prefix { $0 != "-" }
                guard let pid = Int32(pidText), pid != getpid() else { continue }
                if kill(pid, 0) != 0 && errno == ESRCH {
                    try? FileManager.default.removeItem(at: dir.appendingPathComponent(item))
                }
            }
        }
    }

    // MARK: Helpers

    func temporaryURL(in dir: URL) -> URL {
        dir.appendingPathComponent(".tmp-\(getpid())-\(UUID().uuidString)")
    }

    func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw StoreError.io(path: url.path, message: "cannot create the directory: \(error.localizedDescription)")
        }
    }

    /// rename(2): atomic within one file system, replacing the destination.
    func rename(_ from: URL, to: URL) throws {
        if systemRename(from.path, to.path) != 0 {
            let reason = String(cString: strerror(errno))
            throw StoreError.io(path: to.path, message: "cannot move \(from.lastPathComponent) into place: \(reason)")
        }
    }

    /// Runs `body` holding an exclusive flock(2) on `<root>/.lock`, which serialises manifest writes and garbage
    /// collection between processes.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        try createDirectory(root)
        let path = root.appendingPathComponent(".lock").path
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(path: path, message: "cannot open the lock file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else {
            throw StoreError.io(path: path, message: "cannot lock the store: \(String(cString: strerror(errno)))")
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

#if canImport(Glibc)
private let systemRename = Glibc.rename
#else
private let systemRename = Darwin.rename
#endif

/// Lowercase hex sha256 of bytes.
public func sha256Hex(_ data: Data) -> String { hexString(SHA256.hash(data: data)) }

func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in digest {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
