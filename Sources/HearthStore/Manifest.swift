import Foundation

/// A model's manifest, in the shape Ollama writes (`server/images.go`, the Docker image manifest v2 schema 2 it
/// borrows): a config blob plus one layer per component, each named by the sha256 of its bytes.
public struct Manifest: Codable, Equatable, Sendable {
    public static let manifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"
    public static let configMediaType = "application/vnd.docker.container.image.v1+json"

    public var schemaVersion: Int
    public var mediaType: String
    public var config: Layer
    public var layers: [Layer]

    public init(config: Layer, layers: [Layer]) {
        schemaVersion = 2
        mediaType = Manifest.manifestMediaType
        self.config = config
        self.layers = layers
    }

    /// One blob: its media type (what it holds), `sha256:<hex>` digest and size in bytes.
    public struct Layer: Codable, Equatable, Sendable {
        public var mediaType: String
        public var digest: String
        public var size: Int64

        public init(mediaType: String, digest: String, size: Int64) {
            self.mediaType = mediaType
            self.digest = digest
            self.size = size
        }
    }

    /// The layer media types Ollama uses, one per Modelfile component.
    public enum MediaType {
        public static let model = "application/vnd.ollama.image.model"
        public static let template = "application/vnd.ollama.image.template"
        public static let system = "application/vnd.ollama.image.system"
        public static let params = "application/vnd.ollama.image.params"
        public static let messages = "application/vnd.ollama.image.messages"
        public static let license = "application/vnd.ollama.image.license"
    }

    /// Every blob the manifest needs, the config first.
    public var allLayers: [Layer] { [config] + layers }

    public func layers(_ mediaType: String) -> [Layer] { layers.filter { $0.mediaType == mediaType } }

    /// Total bytes of all blobs (what `list` shows as SIZE).
    public var totalSize: Int64 { allLayers.reduce(0) { $0 + $1.size } }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// The config blob: what Ollama's `ConfigV2` records about the model file, so `list`/`show` need not open it.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var modelFormat: String
    public var modelFamily: String
    public var modelFamilies: [String]
    public var modelType: String
    public var fileType: String
    public var architecture: String
    public var os: String
    public var rootfs: RootFS

    public struct RootFS: Codable, Equatable, Sendable {
        public var type: String
        public var diffIDs: [String]
        enum CodingKeys: String, CodingKey { case type, diffIDs = "diff_ids" }
    }

    enum CodingKeys: String, CodingKey {
        case modelFormat = "model_format", modelFamily = "model_family", modelFamilies = "model_families"
        case modelType = "model_type", fileType = "file_type", architecture, os, rootfs
    }
}

/// Checks a `sha256:<64 lowercase hex>` digest and returns the hex part (the blob file name's suffix).
func digestHex(_ digest: String, in what: String) throws -> String {
    let prefix = "sha256:"
    guard digest.hasPrefix(prefix) else {
        throw StoreError.corrupt(path: what, message: "digest \(quoted(digest)) does not start with sha256:")
    }
    let hex = String(digest.dropFirst(prefix.count))
    guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
        throw StoreError.corrupt(path: what, message: "digest \(quoted(digest)) is not 64 lowercase hex digits")
    }
    return hex
}
