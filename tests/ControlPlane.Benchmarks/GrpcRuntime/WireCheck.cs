namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// Before anything is measured: one exchange per method with each server must give the same
/// status, headers, body and trailers, and the expected body. A ratio means something only
/// if both servers put the same bytes on the wire.
/// </summary>
internal static class WireCheck
{
    public sealed record Exchange(int Status, string Headers, byte[] Body, string Trailers);

    /// <summary>Throws, describing the difference, unless both servers answer <paramref name="request"/> alike and with <paramref name="expectedBody"/>.</summary>
    public static async Task VerifyAsync(HttpMessageInvoker client, Uri ours, Uri raw, string path, byte[] request, byte[] expectedBody, CancellationToken cancellationToken)
    {
        var a = await ExchangeAsync(client, new Uri(ours, path), request, cancellationToken);
        var b = await ExchangeAsync(client, new Uri(raw, path), request, cancellationToken);
        var problems = new List<string>();
        if (a.Status != b.Status || a.Status != 200)
        {
            problems.Add($"HTTP status: ours {a.Status}, raw {b.Status}");
        }
        if (a.Headers != b.Headers)
        {
            problems.Add($"headers:{Environment.NewLine}  ours: {a.Headers}{Environment.NewLine}  raw:  {b.Headers}");
        }
        if (!a.Body.AsSpan().SequenceEqual(expectedBody) || !b.Body.AsSpan().SequenceEqual(expectedBody))
        {
            problems.Add($"body: expected {expectedBody.Length} bytes, ours {a.Body.Length} ({Same(a.Body, expectedBody)}), raw {b.Body.Length} ({Same(b.Body, expectedBody)})");
        }
        if (a.Trailers != b.Trailers || a.Trailers != "grpc-status: 0")
        {
            problems.Add($"trailers: ours '{a.Trailers}', raw '{b.Trailers}'");
        }
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"{path}: the two servers do not send the same response:{Environment.NewLine}" + string.Join(Environment.NewLine, problems));
        }
        Console.WriteLine($"  {path}: same response from both ({a.Body.Length} body bytes; {a.Headers}; trailers {a.Trailers})");
    }

    private static string Same(byte[] actual, byte[] expected) => actual.AsSpan().SequenceEqual(expected) ? "as expected" : "different";

    private static async Task<Exchange> ExchangeAsync(HttpMessageInvoker client, Uri uri, byte[] request, CancellationToken cancellationToken)
    {
        using var message = HttpLoad.Post(uri, new ByteArrayContent(request));
        using var response = await client.SendAsync(message, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        // Date changes from call to call; everything else the server sends must match.
        var headers = Describe(response.Headers.Concat(response.Content.Headers).Where(h => !h.Key.Equals("date", StringComparison.OrdinalIgnoreCase)));
        return new Exchange((int)response.StatusCode, headers, body, Describe(response.TrailingHeaders));
    }

    private static string Describe(IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers) =>
        string.Join("; ", headers
            .Select(h => h.Key.ToLowerInvariant() + ": " + string.Join(",", h.Value))
            .Order(StringComparer.Ordinal));
}
