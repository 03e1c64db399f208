using System.Buffers;
using System.IO.Compression;

namespace ControlPlane.Grpc.Compression;

/// <summary>The set of compression algorithms a server or channel accepts, looked up by encoding name.</summary>
public sealed class CompressionProviders
{
    public static readonly CompressionProviders Default = new([new GzipCompressionProvider(), new DeflateCompressionProvider()]);

    private readonly Dictionary<string, ICompressionProvider> _byName;

    public CompressionProviders(IEnumerable<ICompressionProvider> providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        _byName = providers.ToDictionary(p => p.EncodingName, StringComparer.OrdinalIgnoreCase);
        AcceptEncoding = string.Join(",", new[] { "identity" }.Concat(_byName.Keys));
    }

    /// <summary>The value of <c>grpc-accept-encoding</c>: identity plus every provider.</summary>
    public string AcceptEncoding { get; }

    public ICompressionProvider? Find(string? name) =>
        name is not null && _byName.TryGetValue(name, out var p) ? p : null;

    /// <summary>True when the comma-separated <paramref name="acceptEncoding"/> lists <paramref name="name"/>.</summary>
    public static bool Accepts(string? acceptEncoding, string name)
    {
        if (string.IsNullOrEmpty(acceptEncoding))
        {
            return false;
        }
        foreach (var range in acceptEncoding.AsSpan().Split(','))
        {
            if (acceptEncoding.AsSpan(range).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    internal static byte[] Compress(ICompressionProvider provider, ReadOnlySpan<byte> data, CompressionLevel level)
    {
        using var output = new MemoryStream();
        using (var z = provider.CreateCompressionStream(output, level))
        {
            z.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>Decompresses, refusing output larger than <paramref name="maxSize"/> (a zip bomb guard).</summary>
    internal static byte[]? Decompress(ICompressionProvider provider, ReadOnlySequence<byte> data, int maxSize)
    {
        using var input = new SequenceStream(data);
        using var z = provider.CreateDecompressionStream(input);
        using var output = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int n;
            while ((n = z.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + n > maxSize)
                {
                    return null;
                }
                output.Write(buffer, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return output.ToArray();
    }

    private sealed class SequenceStream(ReadOnlySequence<byte> sequence) : Stream
    {
        private readonly long _length = sequence.Length;
        private ReadOnlySequence<byte> _remaining = sequence;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - _remaining.Length; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, _remaining.Length);
            _remaining.Slice(0, n).CopyTo(buffer);
            _remaining = _remaining.Slice(n);
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
