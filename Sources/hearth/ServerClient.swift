import AsyncHTTPClient
import Foundation
import HearthServer
import NIOCore
import NIOHTTP1

/// A small client for a running `hearth serve` (HEARTH_HOST, default 127.0.0.1:11434), as `ollama ps` and
/// `ollama stop` talk to their server: one request, JSON in and out, errors as one line naming the address.
struct ServerClient {
    let base: String

    /// The server HEARTH_HOST names; a wildcard listen address (0.0.0.0, ::) is reached on loopback.
    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let address: ServerAddress
        do { address = try ServerAddress(parsing: environment["HEARTH_HOST"] ?? "127.0.0.1:11434") } catch {
            throw CLIError("\(error)")
        }
        var host = address.host
        if host == "0.0.0.0" || host == "::" { host = "127.0.0.1" }
        base = host.contains(":") ? "http://[\(host)]:\(address.port)" : "http://\(host):\(address.port)"
    }

    /// Sends one request; returns the status and the body, or throws a CLIError when the server cannot be reached.
    func send(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil) throws -> (status: Int, body: Data) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(300))))
        defer { try? client.syncShutdown() }
        do {
            var request = try HTTPClient.Request(url: base + path, method: method)
            if let json {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .data(try JSONSerialization.data(withJSONObject: json))
            }
            let response = try client.execute(request: request).wait()
            let body = response.body.map { Data($0.readableBytesView) } ?? Data()
            return (Int(response.status.code), body)
        } catch {
            throw CLIError("cannot reach the Hearth server at \(base) (is `hearth serve` running? HEARTH_HOST sets "
                + "its address): \(error)")
        }
    }

    /// The JSON object of a successful answer; an error status becomes the server's `error` message.
    func object(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil) throws -> [String: Any] {
        let (status, body) = try send(method, path, json: json)
        let obj = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        guard (200..<300).contains(status) else {
            throw CLIError((obj?["error"] as? String) ?? "the server answered \(status) to \(method.rawValue) \(path)")
        }
        guard let obj else { throw CLIError("the server's answer to \(method.rawValue) \(path) is not a JSON object") }
        return obj
    }
}
