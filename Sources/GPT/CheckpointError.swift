import Foundation

/// Why a checkpoint could not be read or written. Every case names the file.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String)
    case notADirectory(path: String)
    /// A checkpoint or run directory named by the user that is not there.
    case missingDirectory(path: String)
    /// A directory with no config.json, and no best/ or latest/ holding one.
    case noCheckpoint(path: String)
    case notAFile(path: String)
    case unreadable(path: String, reason: String)
    case truncated(path: String, detail: String)
    case invalidHeader(path: String, detail: String)
    case wrongDtype(path: String, tensor: String, dtype: String)
    case missingTensor(path: String, tensor: String)
    case unexpectedTensor(path: String, tensor: String)
    case wrongShape(path: String, tensor: String, expected: [Int], found: [Int])
    case offsetsOutOfRange(path: String, tensor: String, detail: String)
    case nonFiniteWeight(path: String, tensor: String, index: Int, value: Float)
    /// An AdamW moment that is not finite, or a second moment below zero.
    case invalidMoment(path: String, tensor: String, index: Int, value: Float)
    case invalidConfig(path: String, detail: String)
    case unsupported(path: String, detail: String)
    /// A model whose weights would not fit in memory here.
    case tooLarge(path: String, detail: String)
    case invalidFileName(name: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path): return "\(path): file not found"
        case let .notADirectory(path): return "\(path): not a checkpoint directory"
        case let .missingDirectory(path): return "\(path): no such checkpoint or run directory"
        case let .noCheckpoint(path):
            return "\(path): neither a checkpoint (no config.json) nor a run directory with one in best/ or latest/ "
                + "(a run writes them at its first evaluation or checkpoint)"
        case let .notAFile(path): return "\(path): is a directory, not a file"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .truncated(path, detail): return "\(path): truncated file: \(detail)"
        case let .invalidHeader(path, detail): return "\(path): invalid safetensors header: \(detail)"
        case let .wrongDtype(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); only F32 is supported"
        case let .missingTensor(path, tensor): return "\(path): tensor '\(tensor)' is missing"
        case let .unexpectedTensor(path, tensor): return "\(path): unexpected tensor '\(tensor)'"
        case let .wrongShape(path, tensor, expected, found):
            return "\(path): tensor '\(tensor)' has shape \(found) but config.json implies \(expected)"
        case let .offsetsOutOfRange(path, tensor, detail):
            return "\(path): data offsets of tensor '\(tensor)' are invalid: \(detail)"
        case let .nonFiniteWeight(path, tensor, index, value):
            return "\(path): tensor '\(tensor)' holds \(value) at element \(index): the weights are not finite (a run that diverged?)"
        case let .invalidMoment(path, tensor, index, value):
            return "\(path): tensor '\(tensor)' holds \(value) at element \(index): AdamW's moments must be finite (and the second ones not negative)"
        case let .invalidConfig(path, detail): return "\(path): \(detail)"
        case let .unsupported(path, detail): return "\(path): unsupported: \(detail)"
        case let .tooLarge(path, detail): return "\(path): \(detail)"
        case let .invalidFileName(name, reason): return "cannot add '\(name)' to a checkpoint: \(reason)"
        case let .writeFailed(path, reason): return "\(path): cannot write: \(reason)"
        }
    }
}

extension CheckpointError {
    /// `path` must exist and be a file (a directory there would otherwise fail to read with Foundation's raw
    /// "error 256").
    public static func requireFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw missingFile(path: path) }
        if isDirectory.boolValue { throw notAFile(path: path) }
    }
}
