using System.Net;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Server.Metrics;
using ControlPlane.Interop.V1;
using ControlPlane.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Server.Metrics;

/// <summary>
/// The interceptor on a real server, read back through the Prometheus exposition. The server's
/// clock is virtual: call durations are exact, and the deadline fires when the test says so.
/// </summary>
public sealed class RpcMetricsInterceptorTests
{
    private const string Service = "rpc_service=\"interop.v1.TestService\"";

    [Fact]
    public async Task SuccessfulCalls_AreCountedAndTimed_PerServiceAndMethod()
    {
        var (server, clock, _) = await StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();

        await channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty()).ResponseAsync.DefaultTimeout();
        await channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty()).ResponseAsync.DefaultTimeout();
        await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 3 }).ResponseAsync.DefaultTimeout();
        await channel.AsyncUnaryCall(HealthCheck, new global::Grpc.Health.V1.HealthCheckRequest()).ResponseAsync.DefaultTimeout();
        // No wait needed: the server sends the status only after the interceptors have returned.

        var scrape = await ScrapeAsync(server);

        var emptyOk = $"rpc_grpc_status_code=\"OK\",rpc_method=\"EmptyCall\",{Service}";
        Assert.Contains("# TYPE rpc_server_calls_total counter\n", scrape);
        Assert.Contains($"rpc_server_calls_total{{{emptyOk}}} 2\n", scrape);
        Assert.Contains($"rpc_server_calls_total{{rpc_grpc_status_code=\"OK\",rpc_method=\"UnaryCall\",{Service}}} 1\n", scrape);
        Assert.Contains("rpc_server_calls_total{rpc_grpc_status_code=\"OK\",rpc_method=\"Check\",rpc_service=\"grpc.health.v1.Health\"} 1\n", scrape);
        // One family for every mapped service's interceptor instance, with the RPC latency buckets.
        Assert.Single(scrape.Split('\n'), l => l == "# TYPE rpc_server_duration_seconds histogram");
        Assert.Equal(
            ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"],
            scrape.Split('\n').Where(l => l.StartsWith($"rpc_server_duration_seconds_bucket{{{emptyOk},", StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf("le=\"", StringComparison.Ordinal) + 4)..l.LastIndexOf('"')]));
        // The virtual clock did not move: every call took exactly 0 s.
        Assert.Contains($"rpc_server_duration_seconds_bucket{{{emptyOk},le=\"0.0005\"}} 2\n", scrape);
        Assert.Contains($"rpc_server_duration_seconds_count{{{emptyOk}}} 2\n", scrape);
        Assert.Contains($"rpc_server_duration_seconds_sum{{{emptyOk}}} 0\n", scrape);
        Assert.Contains("# TYPE rpc_server_active_calls gauge\n", scrape);
        Assert.Contains($"rpc_server_active_calls{{rpc_method=\"EmptyCall\",{Service}}} 0\n", scrape);
        Assert.Equal(0, clock.ActiveTimers);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AStatusFromTheHandler_IsTheStatusLabel()
    {
        var (server, _, _) = await StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();

        var request = new SimpleRequest { ResponseStatus = new EchoStatus { Code = (int)StatusCode.NotFound, Message = "no such instance" } };
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, request).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);

        var scrape = await ScrapeAsync(server);
        Assert.Contains($"rpc_server_calls_total{{rpc_grpc_status_code=\"NOT_FOUND\",rpc_method=\"UnaryCall\",{Service}}} 1\n", scrape);
        Assert.Contains($"rpc_server_duration_seconds_count{{rpc_grpc_status_code=\"NOT_FOUND\",rpc_method=\"UnaryCall\",{Service}}} 1\n", scrape);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ACallTheClientCancels_IsCancelled_AndNoLongerActive()
    {
        var (server, _, signals) = await StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();

        // The handler waits (on the real clock) far longer than the test runs, until cancelled.
        var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { SleepMs = 600_000 }, new CallOptions(cancellationToken: cts.Token));
        await signals.StartedAsync("UnaryCall");
        Assert.Contains($"rpc_server_active_calls{{rpc_method=\"UnaryCall\",{Service}}} 1\n", await ScrapeAsync(server));
        cts.Cancel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await signals.EndedAsync("UnaryCall"); // the client stopped waiting before the server finished

        var scrape = await ScrapeAsync(server);
        Assert.Contains($"rpc_server_calls_total{{rpc_grpc_status_code=\"CANCELLED\",rpc_method=\"UnaryCall\",{Service}}} 1\n", scrape);
        Assert.Contains($"rpc_server_active_calls{{rpc_method=\"UnaryCall\",{Service}}} 0\n", scrape);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ACallPastItsDeadline_IsDeadlineExceeded_AndTimedToTheDeadline()
    {
        var (server, clock, signals) = await StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();

        // grpc-timeout 10 s: the server's deadline timer runs on the virtual clock, the client's on the real one.
        var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { SleepMs = 600_000 }, new CallOptions { Timeout = TimeSpan.FromSeconds(10) });
        await signals.StartedAsync("UnaryCall");
        clock.Advance(TimeSpan.FromSeconds(10));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        await signals.EndedAsync("UnaryCall");

        var scrape = await ScrapeAsync(server);
        var labels = $"rpc_grpc_status_code=\"DEADLINE_EXCEEDED\",rpc_method=\"UnaryCall\",{Service}";
        Assert.Contains($"rpc_server_calls_total{{{labels}}} 1\n", scrape);
        Assert.Contains($"rpc_server_duration_seconds_bucket{{{labels},le=\"5\"}} 0\n", scrape);
        Assert.Contains($"rpc_server_duration_seconds_bucket{{{labels},le=\"10\"}} 1\n", scrape);
        // Timed on the server's clock up to its deadline: the client sent what was left of its 10 s.
        var sum = scrape.Split('\n').Single(l => l.StartsWith($"rpc_server_duration_seconds_sum{{{labels}}} ", StringComparison.Ordinal));
        Assert.InRange(double.Parse(sum[(sum.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture), 9, 10);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AnExceptionInTheHandlerPipeline_IsUnknown()
    {
        var (server, _, _) = await StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();

        var options = new CallOptions(new Metadata().Add(CallSignals.Innermost.FailHeader, "1"));
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty(), options).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);

        Assert.Contains($"rpc_server_calls_total{{rpc_grpc_status_code=\"UNKNOWN\",rpc_method=\"EmptyCall\",{Service}}} 1\n", await ScrapeAsync(server));
        server.AssertNoUnexpectedErrors(r => r.Exception is InvalidOperationException { Message: CallSignals.Innermost.FailMessage });
    }

    private static readonly Method<global::Grpc.Health.V1.HealthCheckRequest, global::Grpc.Health.V1.HealthCheckResponse> HealthCheck =
        new(global::Grpc.Health.V1.HealthReflection.Descriptor.Services[0].Methods[0]);

    private static async Task<(GrpcTestServer Server, ManualTimeProvider Clock, CallSignals Signals)> StartAsync()
    {
        var clock = new ManualTimeProvider();
        var signals = new CallSignals();
        var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = s => s
                .AddSingleton(signals)
                .AddPrometheusMetrics(o =>
                {
                    o.Meters.Clear();
                    o.Meters.Add(RpcMetricsInterceptor.MeterName);
                }),
            // Outermost first: the metrics see what every interceptor after them does.
            ConfigureGrpc = o =>
            {
                o.TimeProvider = clock;
                o.AddInterceptor<CallSignals.Outermost>().AddInterceptor<RpcMetricsInterceptor>().AddInterceptor<CallSignals.Innermost>();
            },
            Map = app =>
            {
                app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
                app.MapGrpcHealthService();
                app.MapPrometheusMetrics();
            },
        });
        return (server, clock, signals);
    }

    /// <summary>Scrapes /metrics over the server's cleartext HTTP/2 port (prior knowledge, like gRPC).</summary>
    private static async Task<string> ScrapeAsync(GrpcTestServer server)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.Address, "/metrics"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await http.SendAsync(request).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync().DefaultTimeout();
    }
}
