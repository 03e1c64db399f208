namespace ControlPlane.Mcp.Internal.Session;

/// <summary>What one incoming message is answered with: nothing (a notification), a message now, or one later (a running tool call; null when it was cancelled).</summary>
internal readonly record struct Reply(byte[]? Now, Task<byte[]?>? Later)
{
    public static Reply None => default;

    public static Reply Of(byte[] message) => new(message, null);

    public static Reply Pending(Task<byte[]?> later) => new(null, later);
}
