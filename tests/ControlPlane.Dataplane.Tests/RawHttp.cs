using System.Net.Sockets;
using System.Text;

namespace ControlPlane.Dataplane.Tests;

/// <summary>
/// HTTP/1.1 over a bare socket, for requests HttpClient will not send (arbitrary Connection tokens,
/// unnormalized targets, oversized or trickled input).
/// </summary>
public sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly ByteReader _reader;

    private RawHttp(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new ByteReader(_stream);
    }

    public static async Task<RawHttp> ConnectAsync(Uri address)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(address.Host, address.Port).DefaultTimeout();
        return new RawHttp(tcp);
    }

    /// <summary>Sends one request (<paramref name="requestHead"/> without the blank line) and reads one response.</summary>
    public static async Task<Response> SendAsync(Uri address, string requestHead, string body = "")
    {
        await using var raw = await ConnectAsync(address);
        await raw.WriteAsync(requestHead + "\r\n" + body);
        return await raw.ReadResponseAsync();
    }

    public Task WriteAsync(string text) => WriteAsync(Encoding.ASCII.GetBytes(text));

    public async Task WriteAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes).DefaultTimeout();
        await _stream.FlushAsync().DefaultTimeout();
    }

    /// <summary>
    /// Reads one response: the head, then the body by Content-Length, chunked framing, or up to the
    /// connection's end. Status 0 when the server closed or reset the connection without answering.
    /// </summary>
    public async Task<Response> ReadResponseAsync()
    {
        var head = await _reader.ReadUntilAsync("\r\n\r\n"u8.ToArray());
        if (head is null)
        {
            return new Response(0, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase), "", "");
        }
        // One char per byte: a value's bytes past 0x7F are seen as sent.
        var lines = Encoding.Latin1.GetString(head).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }
        var body = new List<byte>();
        if (headers.TryGetValue("Content-Length", out var length))
        {
            body.AddRange(await _reader.ReadExactlyAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)) ?? []);
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (await _reader.ReadUntilAsync("\r\n"u8.ToArray()) is { } sizeLine)
            {
                var size = Convert.ToInt32(Encoding.ASCII.GetString(sizeLine).Trim().Split(';')[0], 16);
                if (size == 0)
                {
                    await _reader.ReadUntilAsync("\r\n"u8.ToArray());
                    break;
                }
                body.AddRange(await _reader.ReadExactlyAsync(size + 2) is { } chunk ? chunk[..^2] : []);
            }
        }
        else if (status is not (204 or 304) && status >= 200)
        {
            body.AddRange(await _reader.ReadToCloseAsync());
        }
        return new Response(status, headers, Encoding.UTF8.GetString(body.ToArray()), lines[0]);
    }

    /// <summary>True when the server closed (or reset) the connection; false if it is still open after the wait.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        try
        {
            var n = await _stream.ReadAsync(new byte[1]).DefaultTimeout();
            return n == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }

    /// <summary>One response; <paramref name="StatusLine"/> as sent, without its CRLF ("" when there was none).</summary>
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body, string StatusLine);
}
