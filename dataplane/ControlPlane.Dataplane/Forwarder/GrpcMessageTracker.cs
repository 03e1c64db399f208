using System.Buffers.Binary;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Follows the length-prefixed messages of a gRPC body as it is relayed (PROTOCOL-HTTP2.md,
/// Length-Prefixed-Message: a compressed flag byte, a 4-byte big-endian length, that many bytes), so
/// the node knows whether what it has forwarded ends on a whole message. Nothing of the bytes is
/// kept: a whole prefix within a buffer is read in place and a payload skipped by its length, so a
/// buffer costs a few integer operations per message that starts in it.
/// </summary>
internal struct GrpcMessageTracker
{
    private const int PrefixLength = 5;

    /// <summary>Payload bytes of the current message still to come.</summary>
    private long _payloadLeft;

    /// <summary>Bytes of a prefix cut across buffers read so far (0 between messages and within a payload).</summary>
    private int _prefixRead;

    /// <summary>The length such a prefix holds, as far as it has been read.</summary>
    private uint _length;

    /// <summary>True when the bytes seen so far are whole messages (none at all included).</summary>
    public readonly bool AtMessageBoundary => _prefixRead == 0 && _payloadLeft == 0;

    /// <summary>Takes the next bytes of the body into account.</summary>
    public void Advance(ReadOnlySpan<byte> data)
    {
        var at = 0;
        while (true)
        {
            var left = data.Length - at;
            if (_payloadLeft >= left)
            {
                _payloadLeft -= left;
                return;
            }
            at += (int)_payloadLeft;
            _payloadLeft = 0;
            if (_prefixRead == 0 && data.Length - at >= PrefixLength)
            {
                // The common case: the whole prefix is in this buffer.
                _payloadLeft = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(at + 1, 4));
                at += PrefixLength;
                continue;
            }
            // A prefix cut across buffers: the flag byte, then the length, one byte at a time.
            while (at < data.Length)
            {
                if (_prefixRead > 0)
                {
                    _length = (_length << 8) | data[at];
                }
                at++;
                if (++_prefixRead == PrefixLength)
                {
                    _payloadLeft = _length;
                    _length = 0;
                    _prefixRead = 0;
                    break;
                }
            }
        }
    }
}
