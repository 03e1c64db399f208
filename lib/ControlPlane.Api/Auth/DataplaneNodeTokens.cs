using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Api.Validation;

namespace ControlPlane.Api.Auth;

/// <summary>
/// Per-node dataplane credentials: a token names one node and is accepted only for streams of that
/// node, so a node's leaked token cannot report load or take configuration as another node. A token is
/// <c>dpn1.</c> + base64url(node id) + <c>.</c> + base64url(HMAC-SHA256(key, <see cref="Context"/> + node id)),
/// made with a key only the control plane and the operator hold (<c>DATAPLANE_NODE_KEY</c>, or the
/// file <c>DATAPLANE_NODE_KEY_FILE</c> names). Several keys, one per line: the first issues tokens,
/// every one verifies them, so keys rotate without a moment where running nodes are refused (add the
/// new key first, reissue, then drop the old one; dropping a key revokes every token it made).
/// The control plane issues nothing itself; <c>cpctl dataplane-token NODE_ID</c> does, from the key.
/// </summary>
public sealed class DataplaneNodeTokens
{
    public const string KeyVariable = "DATAPLANE_NODE_KEY";
    public const string KeyFileVariable = "DATAPLANE_NODE_KEY_FILE";
    public const string Prefix = "dpn1.";

    /// <summary>Keys are at least this many characters: 32 random bytes in base64 are 44.</summary>
    public const int MinKeyLength = 32;

    /// <summary>The longest node id a token can name (the control plane's node id rule).</summary>
    public const int MaxNodeIdLength = NodeText.MaxLength;

    // Domain separation: a MAC made for anything else with the same key is never a node token.
    private const string Context = "controlplane dataplane node token v1\n";

    private readonly byte[][] _keys;

    private DataplaneNodeTokens(byte[][] keys, string source)
    {
        _keys = keys;
        Source = source;
    }

    /// <summary>Where the keys came from (a variable's name): safe to log.</summary>
    public string Source { get; }

    /// <summary>How many keys verify tokens.</summary>
    public int KeyCount => _keys.Length;

    /// <summary>
    /// The keys in <paramref name="text"/>, one per line (blank lines and surrounding whitespace ignored);
    /// each at least <see cref="MinKeyLength"/> characters. The message of a refusal never shows a key.
    /// </summary>
    public static DataplaneNodeTokens FromKeys(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var keys = new List<byte[]>();
        var line = 0;
        foreach (var raw in text.Split('\n'))
        {
            line++;
            var key = raw.Trim();
            if (key.Length == 0)
            {
                continue;
            }
            if (key.Length < MinKeyLength)
            {
                throw new InvalidOperationException(
                    $"{source}: the key on line {line} is {key.Length} characters long; node keys need at least {MinKeyLength} (e.g. `openssl rand -base64 32`)");
            }
            keys.Add(Encoding.UTF8.GetBytes(key));
        }
        if (keys.Count == 0)
        {
            throw new InvalidOperationException($"{source} holds no key");
        }
        return new DataplaneNodeTokens([.. keys], source);
    }

    /// <summary>True when <paramref name="matches"/> holds for one of the keys (used to refuse a key that is also another credential).</summary>
    public bool AnyKey(Func<string, bool> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        var found = false;
        foreach (var key in _keys)
        {
            found |= matches(Encoding.UTF8.GetString(key));
        }
        return found;
    }

    /// <summary>The token of node <paramref name="nodeId"/>, made with the first key.</summary>
    public string Issue(string nodeId)
    {
        if (NodeIdProblem(nodeId) is { } problem)
        {
            throw new ArgumentException($"node id {problem}", nameof(nodeId));
        }
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Mac(_keys[0], nodeId, mac);
        return Prefix + Base64Url.EncodeToString(Encoding.ASCII.GetBytes(nodeId)) + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>
    /// The node <paramref name="token"/> was issued for, when one of the keys made it. The MAC is
    /// compared in constant time; what is not shaped like a token is refused before any key is used.
    /// </summary>
    public bool TryVerify(string? token, [NotNullWhen(true)] out string? nodeId)
    {
        nodeId = null;
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var rest = token.AsSpan(Prefix.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0)
        {
            return false;
        }
        var id = FromBase64Url(rest[..dot], MaxNodeIdLength);
        var presented = FromBase64Url(rest[(dot + 1)..], HMACSHA256.HashSizeInBytes);
        if (id is null || presented is not { Length: HMACSHA256.HashSizeInBytes })
        {
            return false;
        }
        var candidate = Encoding.ASCII.GetString(id);
        if (NodeIdProblem(candidate) is not null || !Encoding.ASCII.GetBytes(candidate).AsSpan().SequenceEqual(id))
        {
            return false;
        }
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var valid = false;
        foreach (var key in _keys)
        {
            Mac(key, candidate, mac);
            valid |= CryptographicOperations.FixedTimeEquals(mac, presented);
        }
        nodeId = valid ? candidate : null;
        return valid;
    }

    /// <summary>Why <paramref name="nodeId"/> cannot be named by a token, or null: the control plane's node id rule (<see cref="NodeText.IdProblem"/>), and not empty.</summary>
    public static string? NodeIdProblem(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        return nodeId.Length == 0 ? "is required" : NodeText.IdProblem(nodeId);
    }

    private static void Mac(byte[] key, string nodeId, Span<byte> destination)
    {
        var message = Encoding.ASCII.GetBytes(Context + nodeId);
        HMACSHA256.HashData(key, message, destination);
    }

    /// <summary>
    /// The bytes of unpadded base64url text (the framework's <see cref="Base64Url"/>), or null when it is
    /// not that, decodes to more than <paramref name="maxBytes"/>, or is not the one spelling of its bytes
    /// (padding, unused trailing bits): a token has exactly one form.
    /// </summary>
    private static byte[]? FromBase64Url(ReadOnlySpan<char> text, int maxBytes)
    {
        if (text.Length == 0 || text.Length > (maxBytes * 4 + 2) / 3)
        {
            return null;
        }
        try
        {
            var bytes = Base64Url.DecodeFromChars(text);
            return Base64Url.EncodeToString(bytes).AsSpan().SequenceEqual(text) ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
