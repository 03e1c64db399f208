using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Grpc;

namespace ControlPlane.Server;

/// <summary>
/// The opaque page tokens of every listing: the key of the last item of a page (listings are ordered
/// by that key), so the next page starts after it, without gaps or repeats while items come and go.
/// A token is bound to the query that produced it (AIP-158: every field but the page size must be the
/// same on the next call), so one used with other filters or another listing is refused instead of
/// answering a page of a different result. Layout, base64url without padding (URL-safe):
/// version (1 byte) | query digest (8) | key (UTF-8) | check (16), the check a SHA-256 over all
/// before it. The check is not keyed: replicas and restarts must accept each other's tokens and share
/// no secret, and a token only says where to resume a listing its caller may read anyway; it refuses
/// tokens that were edited or made by hand.
/// </summary>
internal static class PageTokens
{
    private const byte Version = 1;
    private const int QueryDigestLength = PageQuery.DigestLength;
    private const int CheckLength = 16;
    private const int MaxTokenLength = 1024;
    private static readonly byte[] CheckDomain = "controlplane.page-token.v1\n"u8.ToArray();

    public static string After(PageQuery query, string lastKey)
    {
        var key = Encoding.UTF8.GetBytes(lastKey);
        var token = new byte[1 + QueryDigestLength + key.Length + CheckLength];
        token[0] = Version;
        query.Digest.CopyTo(token.AsSpan(1));
        key.CopyTo(token.AsSpan(1 + QueryDigestLength));
        Check(token.AsSpan(0, token.Length - CheckLength)).CopyTo(token.AsSpan(token.Length - CheckLength));
        return Base64Url.EncodeToString(token);
    }

    /// <summary>The key a token names, when it is a token of a previous page of <paramref name="query"/>.</summary>
    public static PageTokenCheck TryDecode(string token, PageQuery query, out string? after)
    {
        after = null;
        if (token.Length > MaxTokenLength || !Base64Url.IsValid(token))
        {
            return PageTokenCheck.NotAToken;
        }
        var bytes = Base64Url.DecodeFromChars(token);
        if (bytes.Length <= 1 + QueryDigestLength + CheckLength || bytes[0] != Version
            || !CryptographicOperations.FixedTimeEquals(Check(bytes.AsSpan(0, bytes.Length - CheckLength)), bytes.AsSpan(bytes.Length - CheckLength)))
        {
            return PageTokenCheck.NotAToken;
        }
        if (!bytes.AsSpan(1, QueryDigestLength).SequenceEqual(query.Digest))
        {
            return PageTokenCheck.OtherQuery;
        }
        after = Encoding.UTF8.GetString(bytes.AsSpan(1 + QueryDigestLength, bytes.Length - 1 - QueryDigestLength - CheckLength));
        return PageTokenCheck.Valid;
    }

    /// <summary>
    /// The key after which the page of <paramref name="query"/> starts: null for the first page (no
    /// token), or for a token that is not one of its pages, which adds a violation of <c>page_token</c>.
    /// </summary>
    public static string? Read(string token, PageQuery query, List<FieldViolation> errors)
    {
        string? after = null;
        switch (token.Length == 0 ? PageTokenCheck.Valid : TryDecode(token, query, out after))
        {
            case PageTokenCheck.Valid:
                return after;
            case PageTokenCheck.OtherQuery:
                errors.Add(new("page_token", "does not belong to this query: it came from a listing with other filters (only page_size may change between pages)"));
                return null;
            default:
                errors.Add(new("page_token", "is not a token from a previous page"));
                return null;
        }
    }

    private static byte[] Check(ReadOnlySpan<byte> content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(CheckDomain);
        hash.AppendData(content);
        return hash.GetHashAndReset()[..CheckLength];
    }
}

internal enum PageTokenCheck
{
    Valid,

    /// <summary>Not a token this server made, or altered since.</summary>
    NotAToken,

    /// <summary>A genuine token of another listing or of other filters.</summary>
    OtherQuery,
}
