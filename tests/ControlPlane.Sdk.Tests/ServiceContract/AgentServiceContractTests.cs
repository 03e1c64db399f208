using System.Net;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.ServiceContract;
using ControlPlane.Sdk.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Sdk.Tests.ServiceContract;

/// <summary>An agent service built with the SDK (DI client + contract endpoints), on a real Kestrel port.</summary>
public sealed class AgentServiceContractTests : IAsyncLifetime
{
    private readonly SwitchCheck _check = new();
    private TestControlPlane _host = null!;

    public async ValueTask InitializeAsync() => _host = await TestControlPlane.StartAsync();

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Health_Version_Metrics_AndTheDiClient()
    {
        await using var agent = await StartAgentAsync(_host.Grpc);
        using var http = new HttpClient { BaseAddress = agent.Address };

        var health = await GetJsonAsync(http, "/health", HttpStatusCode.OK);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Matches(@"^\d+\.\d+\.\d+", health.GetProperty("version").GetString());
        Assert.True(health.GetProperty("uptime_s").GetInt64() >= 0);
        var version = await GetJsonAsync(http, "/version", HttpStatusCode.OK);
        Assert.Equal("sd-agent", version.GetProperty("name").GetString());
        Assert.True(version.TryGetProperty("git_sha", out _) && version.TryGetProperty("build_time", out _));
        var metrics = await http.GetStringAsync("/metrics").DefaultTimeout();
        Assert.Contains("# TYPE ", metrics, StringComparison.Ordinal);

        // The client registered by AddControlPlaneClient, resolved as the agent's code would.
        var registry = agent.Services.GetRequiredService<IRegistryClient>();
        await registry.RegisterAsync(Clients.TypedCallTests.Instance("di1", 9801)).DefaultTimeout();
        Assert.Same(agent.Services.GetRequiredService<ControlPlaneClient>().Registry, registry);
        Assert.Equal(["agent-self", "di1"], (await registry.ListServicesAsync(new ListServicesRequest()).DefaultTimeout()).Instances.Select(i => i.InstanceId));

        // The hosted helpers: the watcher sees the agent's own registration; on stop it is drained and removed.
        var watcher = agent.Services.GetRequiredService<ControlPlane.Sdk.Discovery.DiscoveryWatcher>();
        await watcher.WaitForAsync(s => s.EndpointSets.ContainsKey("img.agent")).DefaultTimeout();
        await agent.DisposeAsync();
        Assert.Equal(["di1"], (await _host.CreateClient().Registry.ListServicesAsync(new ListServicesRequest()).DefaultTimeout()).Instances.Select(i => i.InstanceId));
        Assert.Single(_host.Calls.Of("DrainInstance"));
    }

    [Fact]
    public async Task Ready_RunsEveryCheck_AndSaysWhichIsNotReady()
    {
        await using var agent = await StartAgentAsync(_host.Grpc);
        using var http = new HttpClient { BaseAddress = agent.Address };

        var ready = await GetJsonAsync(http, "/ready", HttpStatusCode.OK);
        Assert.Equal("ok", ready.GetProperty("status").GetString());
        Assert.Equal("ok", ready.GetProperty("checks").GetProperty("control_plane").GetString());
        Assert.Equal("ok", ready.GetProperty("checks").GetProperty("queue").GetString());

        _check.Detail = "queue full";
        var notReady = await GetJsonAsync(http, "/ready", HttpStatusCode.ServiceUnavailable);
        Assert.Equal("not_ready", notReady.GetProperty("status").GetString());
        Assert.Equal("not_ready: queue full", notReady.GetProperty("checks").GetProperty("queue").GetString());
        Assert.Equal("ok", notReady.GetProperty("checks").GetProperty("control_plane").GetString());
    }

    [Fact]
    public async Task Ready_IsNotReady_WhenTheControlPlaneDoesNotAnswer()
    {
        await using var agent = await StartAgentAsync(new Uri("http://127.0.0.1:1"), hostedHelpers: false);
        using var http = new HttpClient { BaseAddress = agent.Address };

        var ready = await GetJsonAsync(http, "/ready", HttpStatusCode.ServiceUnavailable);

        Assert.StartsWith("not_ready: http://127.0.0.1:1/: backend_unreachable", ready.GetProperty("checks").GetProperty("control_plane").GetString(), StringComparison.Ordinal);
    }

    private async Task<Agent> StartAgentAsync(Uri controlPlane, bool hostedHelpers = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddControlPlaneClient(o =>
        {
            o.Addresses.Add(controlPlane);
            o.Retry.MaxAttempts = 1;
            o.PlatformTokenVariable = o.PlatformTokenFileVariable = "SDK_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        });
        builder.Services.AddAgentServiceContract(o => o.Name = "sd-agent");
        if (hostedHelpers)
        {
            builder.Services.AddInstanceRegistrar(o =>
            {
                o.Instances.Add(Clients.TypedCallTests.Instance("agent-self", 9811, "img.agent"));
                o.DrainPeriod = TimeSpan.Zero;
            });
            builder.Services.AddDiscoveryWatcher(o => o.NodeId = "agent-watcher");
        }
        builder.Services.AddControlPlaneReadinessCheck();
        builder.Services.AddSingleton<IReadinessCheck>(_check);
        var app = builder.Build();
        app.MapAgentServiceContract();
        await app.StartAsync().DefaultTimeout();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new Agent(app, address);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        using var response = await http.GetAsync(path).DefaultTimeout();
        var body = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement;
    }

    private sealed class SwitchCheck : IReadinessCheck
    {
        public string? Detail { get; set; }

        public string Name => "queue";

        public Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken) =>
            Task.FromResult(Detail is null ? ReadinessResult.Ready() : ReadinessResult.NotReady(Detail));
    }

    private sealed class Agent(WebApplication app, Uri address) : IAsyncDisposable
    {
        private bool _disposed;

        public Uri Address { get; } = address;

        public IServiceProvider Services => app.Services;

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            await app.StopAsync().DefaultTimeout();
            await app.DisposeAsync();
        }
    }
}
