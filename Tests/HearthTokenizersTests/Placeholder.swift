import XCTest
final class PlaceholderHearthTokenizersTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
