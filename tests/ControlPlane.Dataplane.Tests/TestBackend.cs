using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests;

/// <summary>
/// A real upstream instance on a free loopback port (HTTP/1.1, or cleartext HTTP/2 only). What it
/// does depends on the path it receives:
/// <list type="bullet">
/// <item><c>/status/{code}</c>: answers that status with the echo body.</item>
/// <item><c>/hang</c>: never answers; <see cref="Hung"/> completes when the request arrives, <see cref="Aborted"/> when it is cancelled.</item>
/// <item><c>/hold</c>: answers once <see cref="Release"/> completes (<see cref="Held"/> when it arrived).</item>
/// <item><c>/upload</c>: reads the body, answers <c>{"bytes":n,"sha256":"..."}</c>; <see cref="FirstBytes"/> completes at the first chunk, <see cref="Aborted"/> if the body breaks off.</item>
/// <item><c>/echo-body</c>: sends its headers at once, then streams the request body back as it arrives.</item>
/// <item><c>/download?bytes=n</c>: n bytes of <see cref="Pattern"/>, in 64 KB chunks; with <c>&amp;held</c> the head is sent alone and the body once <see cref="Release"/> completes.</item>
/// <item><c>/gated</c>: sends 1 KB, waits for <see cref="Release"/>, sends 1 KB more (<see cref="Aborted"/> when cancelled while waiting).</item>
/// <item><c>/trailers</c>: a body and then trailer <c>x-backend-trailer</c> (HTTP/2).</item>
/// <item><c>/hop</c>: the echo body plus hop-by-hop response headers a proxy must drop.</item>
/// <item><c>/non-ascii</c>: the echo body with response values holding bytes past 0x7F (<c>Content-Disposition</c>, <c>X-Latin</c>).</item>
/// <item>anything else: the echo body (<see cref="Echo"/>).</item>
/// </list>
/// Every request is also kept in <see cref="Requests"/>, except the streams it refuses (<see cref="RefuseStreams"/>).
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _refused;

    private TestBackend(string name, WebApplication app, Uri address, TestLogSink logs)
    {
        Name = name;
        _app = app;
        Address = address;
        Logs = logs;
    }

    public string Name { get; }

    public Uri Address { get; }

    public int Port => Address.Port;

    public TestLogSink Logs { get; }

    public ConcurrentQueue<Echo> Requests { get; } = new();

    public TaskCompletionSource Hung { get; } = NewSignal();

    public TaskCompletionSource Aborted { get; } = NewSignal();

    public TaskCompletionSource Held { get; } = NewSignal();

    public TaskCompletionSource Release { get; } = NewSignal();

    public TaskCompletionSource FirstBytes { get; } = NewSignal();

    /// <summary>When set (e.g. 500), every request is answered with this status and the echo body.</summary>
    public int? FailWith { get; set; }

    /// <summary>
    /// HTTP/2 only: every request's stream is reset with REFUSED_STREAM (RFC 9113 §8.7: not processed),
    /// as a server at its limit answers; <see cref="Refused"/> counts them.
    /// </summary>
    public Refusal RefuseStreams { get; set; }

    /// <summary>Streams refused so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static async Task<TestBackend> StartAsync(string name, bool http2 = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new TestLogSink();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = http2 ? HttpProtocols.Http2 : HttpProtocols.Http1);
            // Response values are written one byte per char, so /non-ascii can send any bytes.
            k.ResponseHeaderEncodingSelector = static _ => System.Text.Encoding.Latin1;
        });
        var app = builder.Build();
        TestBackend? self = null;
        app.Run(context => self!.HandleAsync(context));
        await app.StartAsync().DefaultTimeout();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        self = new TestBackend(name, app, address, logs);
        return self;
    }

    /// <summary>The deterministic byte at <paramref name="offset"/> of /download bodies.</summary>
    public static byte Pattern(long offset) => (byte)(offset * 31 % 251);

    /// <summary>Sha256 of <paramref name="length"/> bytes of <see cref="Pattern"/>.</summary>
    public static string PatternSha256(long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[64 * 1024];
        for (long offset = 0; offset < length; offset += chunk.Length)
        {
            var n = (int)Math.Min(chunk.Length, length - offset);
            for (var i = 0; i < n; i++)
            {
                chunk[i] = Pattern(offset + i);
            }
            hash.AppendData(chunk, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (RefuseStreams != Refusal.None && await RefuseAsync(context))
        {
            return;
        }
        var request = context.Request;
        var echo = new Echo(
            Name,
            request.Method,
            request.Path.Value ?? "",
            context.Features.Get<IHttpRequestFeature>()!.RawTarget,
            request.QueryString.Value ?? "",
            request.Protocol,
            request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase));
        Requests.Enqueue(echo);
        context.Response.Headers["X-Backend"] = Name;
        var path = request.Path.Value ?? "";
        var aborted = context.RequestAborted;
        if (FailWith is { } failure)
        {
            context.Response.StatusCode = failure;
            await context.Response.WriteAsJsonAsync(echo);
            return;
        }
        switch (path)
        {
            case var _ when path.StartsWith("/status/", StringComparison.Ordinal):
                context.Response.StatusCode = int.Parse(path["/status/".Length..], System.Globalization.CultureInfo.InvariantCulture);
                await context.Response.WriteAsJsonAsync(echo);
                return;
            case "/hang":
                Hung.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, aborted);
                }
                catch (OperationCanceledException)
                {
                    Aborted.TrySetResult();
                }
                return;
            case "/hold":
                Held.TrySetResult();
                await Release.Task.WaitAsync(aborted);
                await context.Response.WriteAsJsonAsync(echo);
                return;
            case "/upload":
                await UploadAsync(context);
                return;
            case "/echo-body":
                await context.Response.Body.FlushAsync(aborted); // StartAsync alone does not send the headers
                await request.Body.CopyToAsync(context.Response.Body, aborted);
                return;
            case "/non-ascii":
                // A UTF-8 file name (bytes C3 A9) and a Latin-1 value (bytes E9 74 E9), as some servers send.
                context.Response.Headers["Content-Disposition"] = "attachment; filename=\"caf\u00c3\u00a9.pdf\"";
                context.Response.Headers["X-Latin"] = "\u00e9t\u00e9";
                await context.Response.WriteAsJsonAsync(echo);
                return;
            case "/download":
                await DownloadAsync(context, long.Parse(request.Query["bytes"]!, System.Globalization.CultureInfo.InvariantCulture), request.Query.ContainsKey("held") ? Release.Task : null);
                return;
            case "/gated":
                await context.Response.Body.WriteAsync(new byte[1024], aborted);
                await context.Response.Body.FlushAsync(aborted);
                try
                {
                    await Release.Task.WaitAsync(aborted);
                }
                catch (OperationCanceledException)
                {
                    Aborted.TrySetResult();
                    return;
                }
                await context.Response.Body.WriteAsync(new byte[1024], aborted);
                return;
            case "/trailers":
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("body", aborted);
                context.Response.AppendTrailer("x-backend-trailer", "trailer-value");
                return;
            case "/hop":
                context.Response.Headers["Connection"] = "X-Backend-Hop";
                context.Response.Headers["X-Backend-Hop"] = "must-be-dropped";
                context.Response.Headers["Keep-Alive"] = "timeout=5";
                context.Response.Headers["TE"] = "trailers";
                context.Response.Headers["Proxy-Authenticate"] = "Basic";
                context.Response.Headers["Alt-Svc"] = "h3=\":443\"";
                context.Response.Headers["X-End-To-End"] = "kept";
                await context.Response.WriteAsJsonAsync(echo);
                return;
            default:
                await context.Response.WriteAsJsonAsync(echo);
                return;
        }
    }

    /// <summary>Resets the stream with REFUSED_STREAM (0x7); false when the stream was gone before (while its body was read).</summary>
    private async Task<bool> RefuseAsync(HttpContext context)
    {
        if (RefuseStreams == Refusal.AfterBody)
        {
            try
            {
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                return true;
            }
        }
        context.Features.Get<IHttpResetFeature>()!.Reset(0x7);
        Interlocked.Increment(ref _refused);
        return true;
    }

    private async Task UploadAsync(HttpContext context)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        try
        {
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
                FirstBytes.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            Aborted.TrySetResult();
            return;
        }
        await context.Response.WriteAsJsonAsync(new UploadResult(total, Convert.ToHexStringLower(hash.GetHashAndReset())));
    }

    private static async Task DownloadAsync(HttpContext context, long length, Task? release)
    {
        context.Response.ContentLength = length;
        if (release is not null)
        {
            // The head alone first; the body once released.
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await release.WaitAsync(context.RequestAborted);
        }
        var chunk = new byte[64 * 1024];
        for (long offset = 0; offset < length; offset += chunk.Length)
        {
            var n = (int)Math.Min(chunk.Length, length - offset);
            for (var i = 0; i < n; i++)
            {
                chunk[i] = Pattern(offset + i);
            }
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, n), context.RequestAborted);
        }
    }

    public void AssertNoUnexpectedErrors()
    {
        var errors = Logs.Errors.ToList();
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"Backend {Name} logged errors:" + Environment.NewLine + string.Join(Environment.NewLine, errors));
        }
    }

    public async ValueTask DisposeAsync()
    {
        Release.TrySetResult();
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the backend saw (also its default answer, as JSON).</summary>
    public sealed record Echo(string Instance, string Method, string Path, string RawTarget, string Query, string Protocol, Dictionary<string, string[]> Headers)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var v) ? string.Join(",", v) : null;

        public static async Task<Echo> ReadAsync(HttpResponseMessage response)
        {
            var json = await response.Content.ReadAsStringAsync().DefaultTimeout();
            var echo = JsonSerializer.Deserialize<Echo>(json, JsonSerializerOptions.Web)!;
            return echo with { Headers = new Dictionary<string, string[]>(echo.Headers, StringComparer.OrdinalIgnoreCase) };
        }
    }

    public sealed record UploadResult(long Bytes, string Sha256);

    /// <summary>How <see cref="RefuseStreams"/> refuses.</summary>
    public enum Refusal
    {
        /// <summary>It does not: requests are served.</summary>
        None,

        /// <summary>At once, as Kestrel refuses a stream past its limit.</summary>
        AtOnce,

        /// <summary>Once the request body was read to its end: the node has sent all of it, and cannot send it again.</summary>
        AfterBody,
    }
}
