using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Grpc.Protocol;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>A plain HTTP/2 client for sending exactly the bytes a test wants (malformed frames, odd headers).</summary>
internal static class RawHttp2
{
    public static HttpClient CreateClient() => new(new SocketsHttpHandler()) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

    public static byte[] Frame<T>(T message) where T : IMessage<T> =>
        MessageFraming.FrameMessage(message, null, System.IO.Compression.CompressionLevel.Fastest, int.MaxValue);

    public static async Task<HttpResponseMessage> PostAsync(HttpClient http, GrpcTestServer server, string path, byte[] body, params (string Name, string Value)[] headers)
    {
        // The path exactly as given: no dot-segment removal or unescaping on the way.
        var target = new Uri(server.Address.GetLeftPart(UriPartial.Authority) + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var request = new HttpRequestMessage(HttpMethod.Post, target)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers)
        {
            if (name == "content-type")
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(value);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
    }

    /// <summary>grpc-status from the trailers, or from the headers of a Trailers-Only response.</summary>
    public static string? GrpcStatus(HttpResponseMessage response) =>
        Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");

    public static string? Header(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var v) ? v.ToString() : null;
}
