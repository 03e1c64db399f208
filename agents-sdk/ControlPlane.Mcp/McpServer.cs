using ControlPlane.Mcp.Internal;
using ControlPlane.Mcp.Internal.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Mcp;

/// <summary>
/// A Model Context Protocol server: JSON-RPC 2.0, one message per line (MCP's stdio transport),
/// serving the tools the agent's allow-list grants and the prompts of <see cref="McpServerOptions"/>.
/// </summary>
/// <example>
/// <code>
/// var server = new McpServer(new McpServerOptions { Agent = "lb-stats-agent", AllowList = allowList, Tools = tools, Prompts = prompts }, loggerFactory);
/// await server.RunAsync(Console.OpenStandardInput(), Console.OpenStandardOutput(), stopping);
/// </code>
/// On stdio, the output must carry protocol messages only: log to stderr
/// (<see cref="McpLoggingBuilderExtensions.AddMcpStderrJson"/>) and write nothing else to stdout.
/// </example>
public sealed class McpServer
{
    private readonly ServerDefinition _definition;

    /// <exception cref="ArgumentException">The options are invalid (a tool's name or schema, a duplicate name, a limit).</exception>
    public McpServer(McpServerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ControlPlane.Mcp.McpServer");
        _definition = new ServerDefinition(options, logger, timeProvider ?? TimeProvider.System);
        if (!options.AllowList.Agents.Contains(options.Agent, StringComparer.Ordinal))
        {
            McpLog.NoAllowListEntry(logger, options.Agent);
        }
    }

    /// <summary>The options the server was built with.</summary>
    public McpServerOptions Options => _definition.Options;

    /// <summary>The names of the tools the agent may see and call.</summary>
    public IReadOnlyList<string> AllowedTools => [.. _definition.Visible.Select(t => t.Name)];

    /// <summary>
    /// Serves one client until <paramref name="input"/> ends (MCP stdio shutdown: the client closes the
    /// server's input); calls still running are answered first, or cancelled after
    /// <see cref="McpServerOptions.ShutdownTimeout"/>. The streams are not closed.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled: running calls were cancelled.</exception>
    public Task RunAsync(Stream input, Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        return new McpSession(_definition, input, output).RunAsync(cancellationToken);
    }
}
