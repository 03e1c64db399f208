using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>
/// HTTP/1.1 written byte by byte on a socket: what HttpClient refuses to send (dot segments kept,
/// oversized heads) or sends too politely (a body trickled slower than any server should wait for).
/// </summary>
internal sealed class RawHttp : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawHttp(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<RawHttp> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).DefaultTimeout();
        return new RawHttp(socket);
    }

    /// <summary>Sends a whole request (head as given, CRLF line ends added) with Connection: close, and reads the answer to the end.</summary>
    public static async Task<RawAnswer> ExchangeAsync(int port, string requestLine, params string[] headers)
    {
        await using var http = await ConnectAsync(port);
        await http.WriteAsync(requestLine + "\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
        return await http.ReadToEndAsync();
    }

    public Task WriteAsync(string text) => WriteAsync(Encoding.ASCII.GetBytes(text));

    public async Task WriteAsync(byte[] bytes) => await _stream.WriteAsync(bytes).AsTask().DefaultTimeout();

    /// <summary>Everything the server sends until it closes the connection (a reset counts as the end).</summary>
    public async Task<RawAnswer> ReadToEndAsync()
    {
        var buffer = new MemoryStream();
        try
        {
            await _stream.CopyToAsync(buffer).DefaultTimeout();
        }
        catch (IOException)
        {
            // reset by the server: what arrived before is the answer
        }
        return RawAnswer.Parse(Encoding.ASCII.GetString(buffer.ToArray()));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}

/// <summary>A raw answer: the status code (0 when the server closed without one) and the whole text.</summary>
internal sealed record RawAnswer(int Status, string Text)
{
    public static RawAnswer Parse(string text)
    {
        var status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 && int.TryParse(text.AsSpan(9, 3), out var code) ? code : 0;
        return new RawAnswer(status, text);
    }
}
