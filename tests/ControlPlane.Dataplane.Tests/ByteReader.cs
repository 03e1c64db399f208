namespace ControlPlane.Dataplane.Tests;

/// <summary>
/// Reads a raw socket's bytes for hand-written HTTP peers: up to a delimiter, an exact count, or
/// the peer's close. Every read is guarded by a timeout; a reset counts as a close.
/// </summary>
public sealed class ByteReader(Stream stream)
{
    private readonly List<byte> _pending = [];

    /// <summary>Bytes read from the socket and not taken yet.</summary>
    public int Buffered => _pending.Count;

    /// <summary>The bytes before <paramref name="delimiter"/> (the delimiter is consumed), or null when the peer closed first.</summary>
    public async Task<byte[]?> ReadUntilAsync(ReadOnlyMemory<byte> delimiter)
    {
        while (true)
        {
            var at = IndexOf(delimiter.Span);
            if (at >= 0)
            {
                var result = _pending.GetRange(0, at).ToArray();
                _pending.RemoveRange(0, at + delimiter.Length);
                return result;
            }
            if (!await FillAsync())
            {
                return null;
            }
        }
    }

    /// <summary>Exactly <paramref name="count"/> bytes, or null when the peer closed first.</summary>
    public async Task<byte[]?> ReadExactlyAsync(int count)
    {
        while (_pending.Count < count)
        {
            if (!await FillAsync())
            {
                return null;
            }
        }
        var result = _pending.GetRange(0, count).ToArray();
        _pending.RemoveRange(0, count);
        return result;
    }

    /// <summary>Everything until the peer closes the connection.</summary>
    public async Task<byte[]> ReadToCloseAsync()
    {
        while (await FillAsync())
        {
        }
        var result = _pending.ToArray();
        _pending.Clear();
        return result;
    }

    /// <summary>Reads once more from the socket; false when the peer closed (or reset) it.</summary>
    public async Task<bool> FillAsync()
    {
        var chunk = new byte[16 * 1024];
        int n;
        try
        {
            n = await stream.ReadAsync(chunk).DefaultTimeout();
        }
        catch (IOException)
        {
            return false;
        }
        _pending.AddRange(chunk.AsSpan(0, n));
        return n > 0;
    }

    private int IndexOf(ReadOnlySpan<byte> delimiter)
    {
        for (var i = 0; i + delimiter.Length <= _pending.Count; i++)
        {
            var match = true;
            for (var j = 0; j < delimiter.Length && match; j++)
            {
                match = _pending[i + j] == delimiter[j];
            }
            if (match)
            {
                return i;
            }
        }
        return -1;
    }
}
