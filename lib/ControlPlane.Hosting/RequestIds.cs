using System.Security.Cryptography;

namespace ControlPlane.Hosting;

/// <summary>
/// New request ids: 32 lowercase hex digits of 16 random bytes (the shape of <c>Guid.ToString("N")</c>).
/// The bytes come from the operating system's secure generator, as a Guid's do, but drawn 4 KB at a
/// time per thread: <see cref="Guid.NewGuid"/> reads <c>/dev/urandom</c> once per id, a system call on
/// every proxied request that brings no id of its own.
/// </summary>
public static class RequestIds
{
    private const int IdBytes = 16;
    private const int BufferBytes = 256 * IdBytes;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    public static string New()
    {
        var random = t_random;
        if (random is null || t_next == BufferBytes)
        {
            random ??= t_random = new byte[BufferBytes];
            RandomNumberGenerator.Fill(random);
            t_next = 0;
        }
        var bytes = random.AsSpan(t_next, IdBytes);
        t_next += IdBytes;
        var id = Convert.ToHexStringLower(bytes);
        // Used once: a later heap dump or a reused buffer never shows an id already handed out.
        bytes.Clear();
        return id;
    }
}
