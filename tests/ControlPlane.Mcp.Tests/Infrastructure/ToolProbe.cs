using System.Collections.Concurrent;

namespace ControlPlane.Mcp.Tests.Infrastructure;

/// <summary>What the sample tools' handlers saw: every invocation, and gates that hold the slow tool until a test releases it.</summary>
internal sealed class ToolProbe
{
    private readonly ConcurrentQueue<McpToolCall> _calls = new();
    private readonly ConcurrentDictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    public IReadOnlyList<McpToolCall> Calls => [.. _calls];

    public IReadOnlyList<string> Invoked => [.. _calls.Select(c => c.Name)];

    public void Record(McpToolCall call) => _calls.Enqueue(call);

    /// <summary>The gate of the slow call with that key.</summary>
    public Gate GateFor(string key) => _gates.GetOrAdd(key, _ => new Gate());

    internal sealed class Gate
    {
        /// <summary>The handler started (it is running).</summary>
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set by the test: the handler returns.</summary>
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The handler saw its cancellation token fire.</summary>
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
