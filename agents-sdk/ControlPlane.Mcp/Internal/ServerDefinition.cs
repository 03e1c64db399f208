using System.Collections.Frozen;
using System.Reflection;
using ControlPlane.Mcp.Internal.Prompts;
using ControlPlane.Mcp.Internal.Tools;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Mcp.Internal;

/// <summary>Everything a session serves, built and checked once from the options: shared by every session of a server.</summary>
internal sealed class ServerDefinition
{
    private readonly FrozenSet<string> _visibleNames;

    public ServerDefinition(McpServerOptions options, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Agent))
        {
            throw new ArgumentException("McpServerOptions.Agent is required: the agent identity the server runs for.", nameof(options));
        }
        ArgumentNullException.ThrowIfNull(options.AllowList);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ServerName);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMessageBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentCalls, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PageSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ApprovalTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ShutdownTimeout, TimeSpan.Zero);

        Options = options;
        Logger = logger;
        Time = time;
        Tools = new ToolCatalog(options.Tools);
        Prompts = new PromptCatalog(options.Prompts);
        Visible = [.. Tools.All.Where(t => options.AllowList.IsAllowed(options.Agent, t.Name))];
        _visibleNames = Visible.Select(t => t.Name).ToFrozenSet(StringComparer.Ordinal);
        ServerVersion = options.ServerVersion ?? AssemblyVersion();
    }

    public McpServerOptions Options { get; }

    public string Agent => Options.Agent;

    public ILogger Logger { get; }

    public TimeProvider Time { get; }

    public ToolCatalog Tools { get; }

    public PromptCatalog Prompts { get; }

    /// <summary>The tools the agent's allow-list grants, in the host's order: all that <c>tools/list</c> shows and <c>tools/call</c> runs.</summary>
    public IReadOnlyList<RegisteredTool> Visible { get; }

    public string ServerVersion { get; }

    public bool IsVisible(RegisteredTool tool) => _visibleNames.Contains(tool.Name);

    private static string AssemblyVersion()
    {
        var version = typeof(ServerDefinition).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
