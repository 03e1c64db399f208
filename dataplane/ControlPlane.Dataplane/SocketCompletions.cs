namespace ControlPlane.Dataplane;

/// <summary>
/// Where socket completions run. By default .NET hands every completion from its epoll thread to the
/// thread pool; a proxy does little else, so the node lets them run on the socket engine's own threads
/// (one per core), as nginx's workers do, unless the operator chose otherwise: about a quarter more
/// requests/s through one node on 2 cores (docs/benchmarks.md). Nothing on those paths may block: the
/// HTTP/1.1 forwarder is asynchronous throughout, and the files the node writes (last-known-good,
/// pending load reports) are written from its gRPC streams, whose continuations the HTTP/2 client runs
/// on the thread pool. The runtime reads the setting once, when the first socket is used: call
/// <see cref="PreferInline"/> first thing in the process.
/// </summary>
internal static class SocketCompletions
{
    /// <summary>The runtime's switch: "1" runs socket completions inline on the socket engine's threads.</summary>
    public const string InlineVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Sets <see cref="InlineVariable"/> to "1" unless it is set already; true when inline completions are on.</summary>
    public static bool PreferInline()
    {
        var chosen = Environment.GetEnvironmentVariable(InlineVariable);
        if (chosen is null)
        {
            Environment.SetEnvironmentVariable(InlineVariable, "1");
            return true;
        }
        return chosen == "1";
    }
}
