import XCTest
final class PlaceholderHearthModelsTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
