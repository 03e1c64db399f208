using System.Text;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// Metadata between its protobuf bytes and the JSON Redis keeps, checked against Google.Protobuf's own
/// binary and JSON parsers and its JSON formatter.
/// </summary>
public sealed class MetadataJsonTests
{
    /// <summary>What random text is made of: ASCII, characters JSON escapes, HTML's, non-ASCII, outside the BMP.</summary>
    private static readonly string[] Pieces = ["a", "z", "0", ".", " ", "-", "_", "/", "\"", "\\", "\n", "\t", "\u0000", "\u001f", "\u007f", "<", "&", "'", "é", "ß", "日", "\u2028", "\uFEFF", "😀", "𝄞"];

    /// <summary>A Value's null_value field.</summary>
    private static readonly byte[] Null = [0x08, 0x00];

    [Theory]
    [InlineData("{}", "{}")]
    [InlineData("""{"weight": 2}""", """{"weight":2}""")]
    [InlineData("""{"zone": "eu-1a", "weight": 2}""", """{"zone":"eu-1a","weight":2}""")]
    [InlineData(
        """{"null": null, "yes": true, "no": false, "number": 1.5, "text": "", "object": {}, "list": []}""",
        """{"null":null,"yes":true,"no":false,"number":1.5,"text":"","object":{},"list":[]}""")]
    [InlineData("""{"a": {"b": {"c": [1, {"d": ["e"]}]}}}""", """{"a":{"b":{"c":[1,{"d":["e"]}]}}}""")]
    [InlineData(
        """{"mixed": [null, true, false, 0, -1, "s", {"k": []}, [[]], [1, "2", null]]}""",
        """{"mixed":[null,true,false,0,-1,"s",{"k":[]},[[]],[1,"2",null]]}""")]
    [InlineData(
        """{"quote": "say \"hi\"", "backslash": "C:\\tmp", "control": "tab\tline\nnul\u0000bell\u0007del\u007f"}""",
        """{"quote":"say \"hi\"","backslash":"C:\\tmp","control":"tab\tline\nnul\u0000bell\u0007del\u007F"}""")]
    [InlineData(
        """{"café": "naïve 日本語", "emoji": "😀", "html": "<a href='x'>&amp;</a>"}""",
        """{"café":"naïve 日本語","emoji":"\uD83D\uDE00","html":"<a href='x'>&amp;</a>"}""")]
    [InlineData(
        """{"app.kubernetes.io/name": "x", "with space": 1, "a\"b": 2}""",
        """{"app.kubernetes.io/name":"x","with space":1,"a\"b":2}""")]
    [InlineData(
        """{"big": 1e300, "negative": -0.5, "ms": 1763794800000, "small": 5e-324, "zero": 0, "negativeZero": -0, "max": 1.7976931348623157e308, "third": 0.3333333333333333, "beyond53Bits": 9007199254740993, "quadrillion": 1e15, "large": 1e20, "longMax": 9223372036854775807, "minusOne": -1}""",
        """{"big":1E+300,"negative":-0.5,"ms":1763794800000,"small":5E-324,"zero":0,"negativeZero":-0,"max":1.7976931348623157E+308,"third":0.3333333333333333,"beyond53Bits":9007199254740992,"quadrillion":1000000000000000,"large":1E+20,"longMax":9.223372036854776E+18,"minusOne":-1}""")]
    public void ToJson_WritesCompactJsonThatReadsBackToTheSameBytes(string json, string expected)
    {
        var metadata = Struct.Parser.ParseJson(json);
        var bytes = metadata.Fields.Count == 0 ? ByteString.Empty : metadata.ToByteString(); // wire order, as sent (InstanceSpec.Encode would sort the keys)

        var text = MetadataJson.ToJson(bytes.Span);

        Assert.Equal(expected, Encoding.UTF8.GetString(text));
        Assert.Equal(bytes, MetadataJson.FromJson(text));
        Assert.Equal(metadata, Struct.Parser.ParseJson(Encoding.UTF8.GetString(text)));
        // And protobuf's own JSON (spaced, escaped differently) reads as the same bytes.
        Assert.Equal(bytes, MetadataJson.FromJson(Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(metadata))));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("7")]
    [InlineData("-42")]
    [InlineData("9007199254740993")]
    [InlineData("123456789012345678")]
    [InlineData("9223372036854775807")]
    [InlineData("-9223372036854775808")]
    [InlineData("18446744073709551616")]
    [InlineData("1E2")]
    [InlineData("1.5e-3")]
    [InlineData("0.1")]
    public void FromJson_ReadsNumbersAsProtobufsParserDoes(string number)
    {
        var json = $$"""{"n":{{number}}}""";

        Assert.Equal(Struct.Parser.ParseJson(json).ToByteString(), MetadataJson.FromJson(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void EmptyKey_RoundTrips()
    {
        // JsonFormatter refuses an empty key, but JSON and JsonParser have no quarrel with it.
        var metadata = new Struct { Fields = { [""] = Value.ForString("") } };

        var text = MetadataJson.ToJson(metadata.ToByteString().Span);

        Assert.Equal("""{"":""}""", Encoding.UTF8.GetString(text));
        Assert.Equal(metadata.ToByteString(), MetadataJson.FromJson(text));
    }

    [Fact]
    public void NoMetadata_IsAnEmptyObject()
    {
        Assert.Equal("{}"u8.ToArray(), MetadataJson.ToJson(ByteString.Empty.Span));
        Assert.Same(ByteString.Empty, MetadataJson.FromJson("  { } \n"u8));
    }

    [Fact]
    public void NaNAndInfinity_AreWrittenAsProtobufWritesThem_AndReadBackAsStrings()
    {
        var metadata = new Struct
        {
            Fields =
            {
                ["nan"] = Value.ForNumber(double.NaN),
                ["up"] = Value.ForNumber(double.PositiveInfinity),
                ["down"] = Value.ForNumber(double.NegativeInfinity),
            },
        };

        var text = MetadataJson.ToJson(metadata.ToByteString().Span);

        Assert.Equal("""{"nan":"NaN","up":"Infinity","down":"-Infinity"}""", Encoding.UTF8.GetString(text));
        Assert.Equal(Struct.Parser.ParseJson(JsonFormatter.Default.Format(metadata)), Struct.Parser.ParseJson(Encoding.UTF8.GetString(text)));
        var back = Struct.Parser.ParseFrom(MetadataJson.FromJson(text));
        Assert.Equal(Value.ForString("NaN"), back.Fields["nan"]);
        Assert.Equal(Value.ForString("Infinity"), back.Fields["up"]);
        Assert.Equal(Value.ForString("-Infinity"), back.Fields["down"]);
    }

    [Fact]
    public void RandomStructs_RoundTripByteForByte()
    {
        var random = new Random(20251122);
        for (var i = 0; i < 300; i++)
        {
            var metadata = RandomStruct(random, depth: 0);
            var bytes = InstanceSpec.Encode(metadata);

            var text = MetadataJson.ToJson(bytes.Span);

            Assert.Equal(bytes, MetadataJson.FromJson(text));
            Assert.Equal(metadata, Struct.Parser.ParseJson(Encoding.UTF8.GetString(text)));
        }
    }

    /// <summary>Encodings no encoder writes but protobuf parsers accept, each read as Struct.Parser reads it.</summary>
    public static TheoryData<byte[]> UnusualEncodings => new()
    {
        // unknown fields of every wire type, at every level
        Concat(
            [0x10, 0x05], [0x1D, 1, 2, 3, 4], [0x21, 1, 2, 3, 4, 5, 6, 7, 8], [0x23, 0x08, 0x01, 0x24],
            Message(1, Message(1, Text("a")), Message(3, Text("x")), Message(2, [0x48, 0x01], Number(1), Message(9))),
            Entry("l", Message(6, [0x10, 0x01], Message(1, Null), Message(1, [0x48, 0x01], Bool(true))))),
        // a known field number with another wire type
        Entry("a", [0x10, 0x01], Message(4), Str("kept")),
        // a value's last kind wins
        Entry("a", Str("first"), Number(2), Bool(false), Str("last")),
        // consecutive objects merge
        Entry("a", Object(Entry("x", Number(1)), Entry("w", Null)), Object(Entry("y", Number(2)), Entry("x", Number(3)))),
        // an object after another kind starts afresh
        Entry("a", Object(Entry("x", Number(1))), Null, Object(Entry("y", Number(2)))),
        // consecutive lists concatenate
        Entry("a", List(Number(1)), List(Str("2"), Null)),
        // a repeated key keeps its place and takes the last value
        Concat(Entry("a", Number(1)), Entry("b", Number(2)), Entry("a", Number(3))),
        // an entry's last key and value win
        Message(1, Message(1, Text("a")), Message(2, Number(1)), Message(1, Text("b")), Message(2, Bool(true))),
        // a bool other than 1
        Entry("b", [0x20, 0x02]),
        // a length written in more bytes than it needs
        new byte[] { 0x0A, 0x87, 0x00, 0x0A, 0x01, (byte)'a', 0x12, 0x02, 0x20, 0x01 },
        // strings that are not UTF-8
        Entry([0x62, 0x61, 0x64, 0xFF], Message(3, [0x61, 0xC3, 0x28, 0xED, 0xA0, 0x80])),
    };

    [Theory]
    [MemberData(nameof(UnusualEncodings))]
    public void ToJson_ReadsUnusualEncodingsAsStructParserDoes(byte[] bytes)
    {
        var text = MetadataJson.ToJson(bytes);

        // Unknown fields are no part of the comparison: JSON has no place for them.
        var expected = Struct.Parser.WithDiscardUnknownFields(true).ParseFrom(bytes);
        var actual = Struct.Parser.ParseJson(Encoding.UTF8.GetString(text));
        Assert.Equal(expected, actual);
        // Struct equality ignores the order of keys; the formatter's text does not.
        Assert.Equal(JsonFormatter.Default.Format(expected), JsonFormatter.Default.Format(actual));
    }

    [Fact]
    public void NullValueOtherThanZero_IsNull()
    {
        // NullValue has one member, but an open enum keeps any number; JSON keeps only null (read back as 0).
        var bytes = Entry("n", [0x08, 0x05]);

        Assert.Equal("""{"n":null}""", Encoding.UTF8.GetString(MetadataJson.ToJson(bytes)));
    }

    [Theory]
    [InlineData("0A")] // a length cut short
    [InlineData("0A050A0161")] // a length past the end
    [InlineData("0A090A016112041100000000")] // a double cut short
    [InlineData("0A050A01611200")] // a value with no kind
    [InlineData("0A030A0161")] // an entry with no value
    [InlineData("0001")] // field number 0
    [InlineData("0E01")] // wire type 6
    [InlineData("0F")] // wire type 7
    [InlineData("14")] // an end-group tag with no start
    [InlineData("1308011C")] // a group ended by another field's end tag
    [InlineData("130801")] // a group with no end
    [InlineData("08FFFFFFFFFFFFFFFFFFFF01")] // a varint of 11 bytes
    public void ToJson_RefusesMalformedBytes(string hex)
    {
        Assert.Throws<InvalidDataException>(() => MetadataJson.ToJson(Convert.FromHexString(hex)));
        // The thread's writer, left mid-object, is reset for the next call.
        Assert.Equal("""{"a":1}""", Encoding.UTF8.GetString(MetadataJson.ToJson(Entry("a", Number(1)))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("[]")]
    [InlineData("1")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("""{"a":1""")]
    [InlineData("""{"a":}""")]
    [InlineData("""{"a":[1,}""")]
    [InlineData("""{"a":1,}""")]
    [InlineData("""{"a":1} x""")]
    [InlineData("{} {}")]
    [InlineData("{'a':1}")]
    [InlineData("{a:1}")]
    [InlineData("""{"a":NaN}""")]
    [InlineData("""{"a":1e400}""")]
    [InlineData("""{"a":-1e400}""")]
    [InlineData("""{"a":"\ud800"}""")]
    [InlineData("""{"a":1} // comment""")]
    public void FromJson_RefusesWhatIsNotOneJsonObject(string json)
    {
        Assert.Throws<InvalidDataException>(() => MetadataJson.FromJson(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', (byte)'\\', (byte)'n', 0xFF, (byte)'"', (byte)'}' })]
    public void FromJson_RefusesTextThatIsNotUtf8(byte[] json)
    {
        Assert.Throws<InvalidDataException>(() => MetadataJson.FromJson(json));
    }

    [Theory]
    [InlineData(33, 0, true)]
    [InlineData(34, 0, false)]
    [InlineData(1, 49, true)]
    [InlineData(1, 50, false)]
    [InlineData(33, 1, true)]
    [InlineData(33, 2, false)]
    [InlineData(60, 0, false)]
    [InlineData(1, 80, false)]
    public void Nesting_IsLimitedAsStructParserLimitsIt(int objects, int lists, bool accepted)
    {
        var json = "1";
        for (var i = 0; i < lists; i++)
        {
            json = $"[{json}]";
        }
        for (var i = 0; i < objects; i++)
        {
            json = $$"""{"a":{{json}}}""";
        }
        var bytes = Struct.Parser.ParseJson(json).ToByteString();
        Assert.Equal(accepted, Record.Exception(() => Struct.Parser.ParseFrom(bytes)) is null);

        if (accepted)
        {
            Assert.Equal(json, Encoding.UTF8.GetString(MetadataJson.ToJson(bytes.Span)));
            Assert.Equal(bytes, MetadataJson.FromJson(Encoding.UTF8.GetBytes(json)));
        }
        else
        {
            Assert.Throws<InvalidDataException>(() => MetadataJson.ToJson(bytes.Span));
            Assert.Throws<InvalidDataException>(() => MetadataJson.FromJson(Encoding.UTF8.GetBytes(json)));
        }
    }

    [Fact]
    public void LargeMessages_GetLengthsOfSeveralBytes()
    {
        // Nested messages of 128 bytes and more (and of 16 KiB and more) need longer length prefixes.
        var metadata = new Struct
        {
            Fields =
            {
                ["short"] = Value.ForString(new string('s', 100)),
                ["medium"] = Value.ForList(Value.ForString(new string('m', 200)), Value.ForStruct(new Struct { Fields = { ["x"] = Value.ForString(new string('x', 130)) } })),
                ["long"] = Value.ForStruct(new Struct { Fields = { ["l"] = Value.ForString(new string('l', 20_000)), ["n"] = Value.ForNumber(1) } }),
                ["escaped"] = Value.ForString(new string('"', 150)),
            },
        };
        var bytes = metadata.ToByteString();

        Assert.Equal(bytes, MetadataJson.FromJson(MetadataJson.ToJson(bytes.Span)));
    }

    private static Struct RandomStruct(Random random, int depth)
    {
        var metadata = new Struct();
        for (var count = random.Next(depth == 0 ? 8 : 4); count > 0; count--)
        {
            metadata.Fields[RandomText(random, 6)] = RandomValue(random, depth + 1);
        }
        return metadata;
    }

    private static Value RandomValue(Random random, int depth) => random.Next(depth < 4 ? 7 : 5) switch
    {
        0 => Value.ForNull(),
        1 => Value.ForBool(random.Next(2) == 1),
        2 => Value.ForNumber(RandomNumber(random)),
        3 or 4 => Value.ForString(RandomText(random, 12)),
        5 => Value.ForStruct(RandomStruct(random, depth)),
        _ => Value.ForList([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomValue(random, depth + 1))]),
    };

    private static double RandomNumber(Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                return random.Next(-1000, 1000);
            case 1:
                return Math.Round((random.NextDouble() - 0.5) * 1e6, random.Next(6));
            case 2:
                return random.NextInt64(0, 1L << 53) * (random.Next(2) == 0 ? 1 : -1);
            default:
                // Any finite double, from subnormals to the largest.
                double number;
                do
                {
                    number = BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue));
                }
                while (!double.IsFinite(number));
                return number;
        }
    }

    private static string RandomText(Random random, int maxPieces)
    {
        var text = new StringBuilder();
        for (var count = random.Next(maxPieces + 1); count > 0; count--)
        {
            text.Append(Pieces[random.Next(Pieces.Length)]);
        }
        return text.ToString();
    }

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(part => part)];

    /// <summary>A length-delimited field: its tag, its length and <paramref name="contents"/>.</summary>
    private static byte[] Message(int field, params byte[][] contents)
    {
        var body = Concat(contents);
        var output = new MemoryStream();
        var coded = new CodedOutputStream(output);
        coded.WriteTag(field, WireFormat.WireType.LengthDelimited);
        coded.WriteLength(body.Length);
        coded.Flush();
        output.Write(body);
        return output.ToArray();
    }

    /// <summary>A Struct entry (field 1) whose Value has <paramref name="valueFields"/>.</summary>
    private static byte[] Entry(string key, params byte[][] valueFields) => Entry(Text(key), valueFields);

    private static byte[] Entry(byte[] key, params byte[][] valueFields) => Message(1, Message(1, key), Message(2, valueFields));

    private static byte[] Number(double number) => [0x11, .. BitConverter.GetBytes(number)];

    private static byte[] Str(string text) => Message(3, Text(text));

    private static byte[] Bool(bool value) => [0x20, value ? (byte)1 : (byte)0];

    private static byte[] Object(params byte[][] entries) => Message(5, entries);

    private static byte[] List(params byte[][] values) => Message(6, [.. values.Select(value => Message(1, value))]);
}
