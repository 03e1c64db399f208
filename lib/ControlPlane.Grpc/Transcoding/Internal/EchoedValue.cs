namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// A request value quoted in an error: at most <see cref="MaxLength"/> characters and "...", so an
/// error never grows with the request (a 5,000-character path segment is not sent back in full).
/// </summary>
internal static class EchoedValue
{
    public const int MaxLength = 64;

    public static string Cap(string value) => value.Length <= MaxLength ? value : string.Concat(value.AsSpan(0, MaxLength), "...");
}
