using System.Buffers;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// Undoes chunked transfer coding (RFC 9112 §7.1) as the bytes arrive, handing out the chunk
/// data in place (no copy). Chunk extensions are ignored; a size line longer than
/// <see cref="MaxSizeLine"/> (an endless extension), a size that is not hex, or a chunk not
/// followed by CRLF is a protocol error. The trailer section is left to <see cref="Http1ResponseParser.TryParseTrailers"/>.
/// </summary>
internal struct Http1ChunkedDecoder
{
    public const int MaxSizeLine = 4096;

    // 15 hex digits stay well inside a long.
    private const int MaxSizeDigits = 15;

    private State _state;
    private long _remaining;
    private int _scanned;

    /// <summary>How much of an incomplete trailer section was searched already (see <see cref="Http1ResponseParser.TryParseTrailers"/>).</summary>
    public int TrailerScanned;

    public enum Result
    {
        /// <summary>Chunk data was handed out (more may follow in the same buffer).</summary>
        Data,

        /// <summary>The buffer holds no more to decode: read more.</summary>
        NeedMoreData,

        /// <summary>The last chunk was read; the trailer section follows.</summary>
        LastChunk,
    }

    private enum State
    {
        SizeLine,
        Data,
        DataEnd,
        Trailers,
    }

    /// <summary>Decodes from the start of <paramref name="buffer"/>, which is left past what was consumed.</summary>
    public Result Decode(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> data)
    {
        data = default;
        while (true)
        {
            switch (_state)
            {
                case State.SizeLine:
                    // Searched from where the last search ended (less one byte: CRLF may straddle), so a
                    // trickled line costs no repeated scans.
                    var reader = new SequenceReader<byte>(buffer);
                    reader.Advance(Math.Max(0, _scanned - 1));
                    if (!reader.TryAdvanceTo((byte)'\n'))
                    {
                        if (buffer.Length > MaxSizeLine)
                        {
                            throw new Http1ProtocolException("A chunk size line is too long.");
                        }
                        _scanned = (int)buffer.Length;
                        return Result.NeedMoreData;
                    }
                    _scanned = 0;
                    var lineLength = reader.Consumed - 1;
                    if (lineLength > MaxSizeLine || lineLength < 1 || !buffer.Slice(lineLength - 1, 1).FirstSpan.SequenceEqual("\r"u8))
                    {
                        throw new Http1ProtocolException(lineLength > MaxSizeLine ? "A chunk size line is too long." : "A chunk size line does not end in CRLF.");
                    }
                    _remaining = ParseSize(buffer.Slice(0, lineLength - 1));
                    buffer = buffer.Slice(reader.Position);
                    if (_remaining == 0)
                    {
                        _state = State.Trailers;
                        return Result.LastChunk;
                    }
                    _state = State.Data;
                    break;
                case State.Data:
                    if (buffer.IsEmpty)
                    {
                        return Result.NeedMoreData;
                    }
                    var take = Math.Min(_remaining, buffer.Length);
                    data = buffer.Slice(0, take);
                    buffer = buffer.Slice(take);
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }
                    return Result.Data;
                case State.DataEnd:
                    if (buffer.Length < 2)
                    {
                        if (!buffer.IsEmpty && buffer.FirstSpan[0] != '\r')
                        {
                            throw new Http1ProtocolException("A chunk is longer than its size says.");
                        }
                        return Result.NeedMoreData;
                    }
                    var end = new SequenceReader<byte>(buffer);
                    if (!end.IsNext("\r\n"u8))
                    {
                        throw new Http1ProtocolException("A chunk is longer than its size says.");
                    }
                    buffer = buffer.Slice(2);
                    _state = State.SizeLine;
                    break;
                default:
                    return Result.LastChunk;
            }
        }
    }

    /// <summary>chunk-size [ BWS ";" chunk-ext ] (RFC 9112 §7.1, §7.1.1).</summary>
    private static long ParseSize(ReadOnlySequence<byte> sequence)
    {
        // A size line split across buffers is rare: a copy then.
        var line = sequence.IsSingleSegment ? sequence.FirstSpan : sequence.ToArray();
        long size = 0;
        var digits = 0;
        for (; digits < line.Length; digits++)
        {
            var value = HexValue(line[digits]);
            if (value < 0)
            {
                break;
            }
            if (digits == MaxSizeDigits)
            {
                throw new Http1ProtocolException("A chunk size is too large.");
            }
            size = (size << 4) | (uint)value;
        }
        if (digits == 0)
        {
            throw new Http1ProtocolException("A chunk size is not a hex number.");
        }
        var rest = line[digits..].TrimStart(" \t"u8);
        if (!rest.IsEmpty && rest[0] != ';')
        {
            throw new Http1ProtocolException("A chunk size is not a hex number.");
        }
        if (rest.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
        {
            throw new Http1ProtocolException("A chunk extension holds a bare CR, LF or NUL.");
        }
        return size;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
