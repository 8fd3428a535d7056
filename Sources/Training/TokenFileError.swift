/// Problems with a token file (.npy); each message names the file.
public enum TokenFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notNumPy(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case sizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)
    case writeFailed(path: String, reason: String)
    case idTooLarge(path: String, id: Int64, dtype: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "\(path): cannot open the token file (\(reason))"
        case .notNumPy(let path, let reason): return "\(path): not a NumPy .npy token file (\(reason))"
        case .unsupported(let path, let reason): return "\(path): unsupported token file (\(reason)); expected a 1-D little-endian uint16 or uint32 array"
        case .sizeMismatch(let path, let expected, let actual):
            return "\(path): the file is truncated or has trailing data (the header promises \(expected) bytes, the file has \(actual))"
        case .writeFailed(let path, let reason): return "\(path): cannot write the token file (\(reason))"
        case .idTooLarge(let path, let id, let dtype): return "\(path): token id \(id) does not fit in \(dtype)"
        }
    }
}
