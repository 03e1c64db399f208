using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// A Lua script run by its SHA1 (EVALSHA): the text crosses the network only when the server does
/// not know it yet (first use, or after a restart or SCRIPT FLUSH), and then EVAL caches it there.
/// </summary>
internal sealed class RedisScript
{
    public RedisScript(string name, string text, bool writes)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(text);
        Name = name;
        Text = text;
        Writes = writes;
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    public string Name { get; }

    /// <summary>The script changes data: not sent while the store is known to be unreachable (<see cref="RedisConnection"/>).</summary>
    public bool Writes { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisValue[] arguments)
    {
        ArgumentNullException.ThrowIfNull(database);
        try
        {
            return await database.ScriptEvaluateAsync(Hash, null, arguments);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(Text, null, arguments);
        }
    }
}
