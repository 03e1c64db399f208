using System.Buffers.Binary;

namespace ControlPlane.Benchmarks.Http2;

/// <summary>
/// One stream's received DATA, cut into length-prefixed gRPC messages (PROTOCOL-HTTP2.md): a message
/// may span frames and a frame may carry several. Messages wholly inside one frame are handed out
/// without a copy.
/// </summary>
internal sealed class MessageAssembler
{
    private byte[]? _partial;
    private int _length;

    /// <summary>Feeds one DATA frame's payload; calls <paramref name="onMessage"/> for each message it completes.</summary>
    public void Append(ReadOnlyMemory<byte> payload, Action<ReadOnlyMemory<byte>> onMessage)
    {
        while (!payload.IsEmpty)
        {
            if (_length == 0 && TryWhole(payload.Span, out var size))
            {
                Messages++;
                onMessage(payload.Slice(Http2Wire.MessagePrefixSize, size));
                payload = payload[(Http2Wire.MessagePrefixSize + size)..];
                continue;
            }
            // A message cut by the frame's end: gather it.
            var needed = _length < Http2Wire.MessagePrefixSize
                ? Http2Wire.MessagePrefixSize - _length
                : Http2Wire.MessagePrefixSize + Size(_partial!) - _length;
            var take = Math.Min(needed, payload.Length);
            Grow(_length + take);
            payload.Span[..take].CopyTo(_partial.AsSpan(_length));
            _length += take;
            payload = payload[take..];
            if (_length >= Http2Wire.MessagePrefixSize && _length == Http2Wire.MessagePrefixSize + Size(_partial!))
            {
                var whole = _partial.AsMemory(Http2Wire.MessagePrefixSize, _length - Http2Wire.MessagePrefixSize);
                _length = 0;
                Messages++;
                onMessage(whole);
            }
        }
    }

    /// <summary>Messages completed so far.</summary>
    public int Messages { get; private set; }

    /// <summary>True when nothing of a message is left waiting for more frames.</summary>
    public bool IsEmpty => _length == 0;

    private static bool TryWhole(ReadOnlySpan<byte> data, out int size)
    {
        size = data.Length >= Http2Wire.MessagePrefixSize ? Size(data) : -1;
        return size >= 0 && data.Length >= Http2Wire.MessagePrefixSize + size;
    }

    private static int Size(ReadOnlySpan<byte> prefix)
    {
        if (prefix[0] != 0)
        {
            throw new InvalidOperationException("A compressed gRPC message: the lean client asks for none.");
        }
        return checked((int)BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]));
    }

    private void Grow(int length)
    {
        if (_partial is null || _partial.Length < length)
        {
            Array.Resize(ref _partial, Math.Max(length, Math.Max(256, (_partial?.Length ?? 0) * 2)));
        }
    }
}
