import XCTest
final class PlaceholderHearthFormatsTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
