/// The library product: re-exports the engine API so a Swift app can embed Hearth with one import.
@_exported import HearthEngine
@_exported import HearthChat
@_exported import HearthGrammar
@_exported import HearthTemplates
@_exported import HearthModels
@_exported import HearthTokenizers
@_exported import HearthFormats
@_exported import HearthKernels
@_exported import HearthTensors
