import Foundation
import HearthEngine
import HearthTokenizers
import Hummingbird

/// OpenAI's `GET /v1/models` and `GET /v1/models/{id}` (platform.openai.com/docs/api-reference/models), and
/// llama-server's `POST /tokenize` and `POST /detokenize` (llama.cpp tools/server/README.md).
extension HearthServer {
    /// OpenAI's model object: `{id, object: "model", created, owned_by}`.
    func modelObject(_ m: AvailableModel) -> [String: Any] {
        ["id": m.name, "object": "model", "created": Int(m.modifiedAt.timeIntervalSince1970), "owned_by": m.ownedBy]
    }

    func listModels() async -> Response {
        let list = await models.availableModels()
        return jsonResponse(["object": "list", "data": list.map(modelObject)])
    }

    /// `id` may hold slashes (`hf.co/owner/repo:Q4_K_M`, a file path), so the route takes the rest of the path.
    func retrieveModel(_ context: some RequestContext) async -> Response {
        let id = context.parameters.getCatchAll().joined(separator: "/")
        let list = await models.availableModels()
        guard let m = list.first(where: { $0.name == id || "/" + $0.name == id || $0.name == "/" + id }) else {
            return errorResponse(ServerError.modelNotFound(id), style: .openAI)
        }
        return jsonResponse(modelObject(m))
    }

    func tokenize(_ request: Request) async -> Response {
        do {
            let body = try JSONDecoder().decode(TokenizeBody.self, from: try await requestData(request))
            guard let content = body.content else { throw ServerError.badRequest("field 'content' is required (a string)") }
            let tokenizer = try await models.model(body.model).loaded.tokenizer
            let ids = tokenizer.encode(content, addSpecial: body.add_special ?? false, parseSpecial: body.parse_special ?? true)
            guard body.with_pieces == true else { return jsonResponse(["tokens": ids.map(Int.init)]) }
            // A piece is a string when its bytes are valid UTF-8, else the list of bytes (llama-server).
            let pieces: [[String: Any]] = ids.map { id in
                let bytes = tokenizer.piece(id, special: true)
                let piece: Any = String(validatingUTF8Bytes: bytes) ?? bytes.map(Int.init)
                return ["id": Int(id), "piece": piece]
            }
            return jsonResponse(["tokens": pieces])
        } catch {
            return errorResponse(error, style: .openAI)
        }
    }

    func detokenize(_ request: Request) async -> Response {
        do {
            let body = try JSONDecoder().decode(DetokenizeBody.self, from: try await requestData(request))
            guard let tokens = body.tokens else { throw ServerError.badRequest("field 'tokens' is required (a list of token ids)") }
            let tokenizer = try await models.model(body.model).loaded.tokenizer
            if let (i, bad) = tokens.enumerated().first(where: { $0.element < 0 || $0.element >= tokenizer.vocabSize }) {
                throw ServerError.badRequest("tokens[\(i)] = \(bad) is outside the vocabulary (0..<\(tokenizer.vocabSize))")
            }
            // Control tokens are written as their text, as llama-server's tokens_to_str does.
            let bytes = tokenizer.decodeBytes(tokens.map { Int32($0) }, special: true)
            return jsonResponse(["content": String(decoding: bytes, as: UTF8.self)])
        } catch {
            return errorResponse(error, style: .openAI)
        }
    }
}

extension String {
    /// The text of `bytes` when they are valid UTF-8, else nil.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var valid = true
        var it = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error: valid = false; break loop
            }
        }
        guard valid else { return nil }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
