using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Mcp.Tests.Infrastructure;

/// <summary>
/// A server with the sample tools and prompts, for one agent, connected to a scripted client; its
/// log lines are kept in the project's JSON format.
/// </summary>
internal sealed class McpTestHost : IAsyncDisposable
{
    /// <summary>May use every sample tool.</summary>
    public const string OpsAgent = "ops-agent";

    public const string StatsAgent = "lb-stats-agent";

    public static readonly McpAllowList AllowList = McpAllowList.Parse("""
        {"ops-agent": ["sd.*", "lb-stats.*", "lb-policy.*"],
         "lb-stats-agent": ["lb-stats.*"],
         "lb-policy-agent": ["lb-policy.*", "lb-stats.top"]}
        """);

    private readonly ILoggerFactory _loggers;

    private McpTestHost(string agent, Func<McpServerOptions, McpServerOptions>? configure, TimeProvider? time, CancellationToken serverToken)
    {
        _loggers = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        var options = new McpServerOptions
        {
            Agent = agent,
            AllowList = AllowList,
            Tools = SampleTools.Create(Probe),
            Prompts = SamplePrompts.Create(),
            ServerName = "controlplane-mcp-test",
            ServerVersion = "9.9.9",
            Instructions = "Operate the control plane through these tools.",
        };
        Server = new McpServer(configure?.Invoke(options) ?? options, _loggers, time);
        Client = new McpTestClient(Server, serverToken);
    }

    public ToolProbe Probe { get; } = new();

    public JsonLogCapture Logs { get; } = new();

    public McpServer Server { get; }

    public McpTestClient Client { get; }

    public static McpTestHost Start(string agent = OpsAgent, Func<McpServerOptions, McpServerOptions>? configure = null, TimeProvider? time = null, CancellationToken serverToken = default) =>
        new(agent, configure, time, serverToken);

    /// <summary>Started and initialized (initialize + notifications/initialized).</summary>
    public static async Task<McpTestHost> StartInitializedAsync(string agent = OpsAgent, string version = McpProtocolVersions.Latest, Func<McpServerOptions, McpServerOptions>? configure = null)
    {
        var host = Start(agent, configure);
        await host.Client.InitializeAsync(version);
        return host;
    }

    /// <summary>Log entries with this event id.</summary>
    public IReadOnlyList<JsonElement> LogEvents(int eventId) =>
        [.. Logs.Entries.Where(e => e.TryGetProperty("event_id", out var id) && id.GetInt32() == eventId)];

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        _loggers.Dispose();
    }
}
