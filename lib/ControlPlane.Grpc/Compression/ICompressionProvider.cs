using System.IO.Compression;

namespace ControlPlane.Grpc.Compression;

/// <summary>A message compression algorithm, named as in <c>grpc-encoding</c>.</summary>
public interface ICompressionProvider
{
    /// <summary>The <c>grpc-encoding</c> token, e.g. "gzip".</summary>
    string EncodingName { get; }

    Stream CreateCompressionStream(Stream destination, CompressionLevel level);

    Stream CreateDecompressionStream(Stream source);
}

public sealed class GzipCompressionProvider : ICompressionProvider
{
    public string EncodingName => "gzip";

    public Stream CreateCompressionStream(Stream destination, CompressionLevel level) => new GZipStream(destination, level, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream source) => new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
}

/// <summary>gRPC's "deflate" is the zlib format (RFC 1950), as in HTTP.</summary>
public sealed class DeflateCompressionProvider : ICompressionProvider
{
    public string EncodingName => "deflate";

    public Stream CreateCompressionStream(Stream destination, CompressionLevel level) => new ZLibStream(destination, level, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream source) => new ZLibStream(source, CompressionMode.Decompress, leaveOpen: true);
}
