using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests;

/// <summary>
/// The dataplane host as Program.cs builds it, in process on free loopback ports (HTTP/1.1 and
/// h2c), fed by its in-memory provider. Its logs are captured; disposing it fails the test on any
/// error log that <see cref="ExpectErrors"/> did not allow.
/// </summary>
public sealed class DataplaneFixture : IAsyncDisposable
{
    private readonly WebApplication _app;
    private Func<TestLogSink.LogRecord, bool> _expectedErrors = _ => false;

    private DataplaneFixture(WebApplication app, TestLogSink logs)
    {
        _app = app;
        Logs = logs;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        // Listeners are created HTTP/1.1 first, then h2c.
        Http = new Uri(addresses[0]);
        H2c = new Uri(addresses[1]);
        Config = app.Services.GetRequiredService<InMemoryProxyConfigProvider>();
    }

    /// <summary>The HTTP/1.1 listener (proxy and ops).</summary>
    public Uri Http { get; }

    /// <summary>The cleartext HTTP/2 listener.</summary>
    public Uri H2c { get; }

    public InMemoryProxyConfigProvider Config { get; }

    public TestLogSink Logs { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<DataplaneFixture> StartAsync(Action<WebApplicationBuilder>? configure = null, params string[] args)
    {
        var logs = new TestLogSink();
        var app = DataplaneHost.Build(
            // Nodes stop at once: a test that needs the last interval flushed on shutdown sets FlushTimeout itself.
            ["--Dataplane:HttpPort=0", "--Dataplane:Http2Port=0", "--Dataplane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None",
                "--Dataplane:Reporting:FlushTimeout=00:00:00", .. args],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.SetMinimumLevel(LogLevel.Debug);
                builder.Logging.AddProvider(logs);
                configure?.Invoke(builder);
            });
        await app.StartAsync().DefaultTimeout();
        return new DataplaneFixture(app, logs);
    }

    /// <summary>Allows error logs matching <paramref name="expected"/> (a test that provokes them).</summary>
    public void ExpectErrors(Func<TestLogSink.LogRecord, bool> expected) => _expectedErrors = expected;

    /// <summary>
    /// A client of the HTTP/1.1 port; it neither follows redirects nor decompresses, so it sees what
    /// the proxy sent, and a response disposed before its end closes the connection at once (no drain).
    /// </summary>
    public HttpClient CreateClient(TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false, AutomaticDecompression = DecompressionMethods.None, MaxResponseDrainSize = 0 })
        {
            BaseAddress = Http,
            Timeout = timeout ?? Timeout.InfiniteTimeSpan,
        };

    /// <summary>A client speaking cleartext HTTP/2 (prior knowledge) to the h2c port.</summary>
    public HttpClient CreateH2cClient() =>
        new(new SocketsHttpHandler { UseCookies = false, UseProxy = false })
        {
            BaseAddress = H2c,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>Publishes one image whose endpoints are <paramref name="backends"/>.</summary>
    public ProxyConfig Route(string image, RoutingPolicy? policy, params TestBackend[] backends) =>
        Config.Update(new ImageConfig(image, EndpointsOf(image, backends), policy));

    public ProxyConfig Route(string image, params TestBackend[] backends) => Route(image, null, backends);

    public static EndpointSet EndpointsOf(string image, params TestBackend[] backends)
    {
        var set = new EndpointSet { Image = image };
        foreach (var backend in backends)
        {
            set.Endpoints.Add(EndpointOf(backend.Name, backend.Port));
        }
        return set;
    }

    public static ControlPlane.Api.V1.Endpoint EndpointOf(string instanceId, int port, string? protocol = null, int weight = 1, string host = "127.0.0.1")
    {
        var endpoint = new ControlPlane.Api.V1.Endpoint
        {
            InstanceId = instanceId,
            ServiceName = "svc",
            Host = host,
            Port = port,
            Weight = weight,
            Status = "healthy",
            Metadata = new Struct(),
        };
        if (protocol is not null)
        {
            endpoint.Metadata.Fields["protocol"] = Value.ForString(protocol);
        }
        return endpoint;
    }

    public void AssertNoUnexpectedErrors()
    {
        var unexpected = Logs.Errors.Where(r => !_expectedErrors(r)).ToList();
        if (unexpected.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("Unexpected error logs:" + Environment.NewLine + string.Join(Environment.NewLine, unexpected));
        }
    }

    /// <summary>Stops the node; Kestrel lets every request in flight finish first (so runtime state can be checked for leaks).</summary>
    public Task StopAsync() => _app.StopAsync().DefaultTimeout();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
        if (Environment.GetEnvironmentVariable("DATAPLANE_TEST_DUMP_LOGS") == "1")
        {
            foreach (var record in Logs.Records)
            {
                Console.Error.WriteLine(record);
            }
        }
        AssertNoUnexpectedErrors();
    }
}
