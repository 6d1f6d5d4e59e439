import HearthModels
import XCTest

/// `Batch.promptPieces` cuts prompts where llama-server + `llama_decode` do (n_batch 2048, n_ubatch 512, and for
/// sliding-window models batch ends 4 + 512 and 4 tokens before the end of the prompt).
final class PromptPiecesTests: XCTestCase {
    func testFullAttentionModelsSplitOnlyIntoUbatches() {
        XCTAssertEqual(Batch.promptPieces(count: 6, slidingWindow: false), [0..<6])
        XCTAssertEqual(Batch.promptPieces(count: 512, slidingWindow: false), [0..<512])
        XCTAssertEqual(Batch.promptPieces(count: 1100, slidingWindow: false), [0..<512, 512..<1024, 1024..<1100])
        XCTAssertEqual(Batch.promptPieces(count: 2049, slidingWindow: false),
                       [0..<512, 512..<1024, 1024..<1536, 1536..<2048, 2048..<2049])
    }

    func testSlidingWindowModelsEndABatchFourAndFourPlusUbatchBeforeTheEnd() {
        XCTAssertEqual(Batch.promptPieces(count: 1, slidingWindow: true), [0..<1])
        XCTAssertEqual(Batch.promptPieces(count: 4, slidingWindow: true), [0..<4])
        XCTAssertEqual(Batch.promptPieces(count: 5, slidingWindow: true), [0..<1, 1..<5])
        XCTAssertEqual(Batch.promptPieces(count: 6, slidingWindow: true), [0..<2, 2..<6])
        XCTAssertEqual(Batch.promptPieces(count: 520, slidingWindow: true), [0..<4, 4..<516, 516..<520])
        XCTAssertEqual(Batch.promptPieces(count: 1000, slidingWindow: true), [0..<484, 484..<996, 996..<1000])
        for n in [1, 7, 300, 517, 2100, 5000] {
            for slidingWindow in [false, true] {
                let pieces = Batch.promptPieces(count: n, slidingWindow: slidingWindow)
                XCTAssertEqual(pieces.first?.lowerBound, 0)
                XCTAssertEqual(pieces.last?.upperBound, n)
                XCTAssertTrue(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                XCTAssertTrue(pieces.allSatisfy { !$0.isEmpty && $0.count <= 512 })
            }
        }
    }
}
