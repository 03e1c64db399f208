using System.Text.RegularExpressions;

namespace ControlPlane.Interop.Tests.Buf;

/// <summary>
/// Reads the HTTP/2 exchange of one RPC from <c>buf curl -v</c> output (stderr): lines
/// "buf: &gt; (#N) ..." are sent, "buf: &lt; (#N) ..." received; a received blank line ends the
/// response headers, and the lines after the next one are the trailers.
/// </summary>
public sealed partial class BufVerboseLog
{
    private BufVerboseLog(IReadOnlyList<string> headers, IReadOnlyList<string> trailers)
    {
        ResponseHeaders = headers;
        Trailers = trailers;
    }

    /// <summary>Response header lines ("Name: value"), after the status line.</summary>
    public IReadOnlyList<string> ResponseHeaders { get; }

    /// <summary>Trailer lines ("Name: value").</summary>
    public IReadOnlyList<string> Trailers { get; }

    public static BufVerboseLog ForRequest(string stderr, string path)
    {
        var lines = stderr.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var post = lines.Select(l => PostLine().Match(l)).FirstOrDefault(m => m.Success && m.Groups["path"].Value == path)
            ?? throw new Xunit.Sdk.XunitException($"No 'POST {path}' in buf's verbose output:{Environment.NewLine}{stderr}");
        var prefix = $"buf: < (#{post.Groups["id"].Value})";
        var received = lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..].Trim()).ToList();
        var blanks = received.Select((l, i) => (l, i)).Where(x => x.l.Length == 0).Select(x => x.i).ToList();
        if (blanks.Count < 2)
        {
            throw new Xunit.Sdk.XunitException($"No headers and trailers for {path} in buf's verbose output:{Environment.NewLine}{stderr}");
        }
        return new BufVerboseLog(received[1..blanks[0]], received[(blanks[1] + 1)..]);
    }

    [GeneratedRegex(@"^buf: > \(#(?<id>\d+)\) POST (?<path>\S+)$")]
    private static partial Regex PostLine();
}
