using System.Text.RegularExpressions;

namespace ControlPlane.Api.Validation;

/// <summary>
/// What an image name is, for every process that takes one: the control plane at registration, on
/// policies, route previews and load reports, and the dataplane node on every resource it is sent.
/// One rule, so a node never accepts a name the control plane would refuse (a name the node then
/// could not serve: it is the path segment of <c>/g/{image}/...</c> and goes out in
/// <c>X-Forwarded-Prefix</c>, which takes no spaces nor non-ASCII).
/// </summary>
public static partial class ImageName
{
    /// <summary>Most characters of an image name (a DNS name's limit).</summary>
    public const int MaxLength = 253;

    /// <summary>The rule in words, for error messages.</summary>
    public const string Expected = "an image name such as 'img.video.svc': letters, digits and . _ : -, starting and ending with a letter or digit, up to 253 characters (no '/': an image is one path segment of /g/{image}/...)";

    // DNS-like labels joined by dots; an image may also carry a registry path's ':' and a tag.
    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._:-]{0,251}[A-Za-z0-9])?\\z")]
    private static partial Regex Pattern();

    /// <summary>True when <paramref name="image"/> is a valid image name.</summary>
    public static bool IsValid(string? image) => image is not null && Pattern().IsMatch(image);
}
