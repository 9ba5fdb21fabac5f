/* SPDX-License-Identifier: Apache-2.0 */
/* SDP as browsers write it (CRLF line ends, as they send them). The
 * values (ids, credentials, fingerprints, addresses) are made up; the
 * shape, attribute order and idioms are those of each browser. */
#ifndef PP_TEST_SDP_SAMPLES_H
#define PP_TEST_SDP_SAMPLES_H

/* Chromium 120, RTCPeerConnection with one data channel and nothing else,
 * localDescription after gathering, host IPs hidden behind mDNS names. */
static const char pp_sample_chromium_offer[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=application 54400 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 203.0.113.7\r\n"
	"a=candidate:3034378165 1 udp 2113937151 1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local 54400 typ host generation 0 network-cost 999\r\n"
	"a=candidate:3034378166 1 udp 2113939711 6b1d9c1e-3f0e-4b9a-9a57-2f1e0d3c4b5a.local 54401 typ host generation 0 network-cost 999\r\n"
	"a=candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\n"
	"a=candidate:1510613869 1 tcp 1518280447 1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local 9 typ host tcptype active generation 0 network-cost 999\r\n"
	"a=ice-ufrag:EsAw\r\n"
	"a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* Chromium 120 answering a data-channel offer, before gathering (trickle):
 * no candidates, port 9. */
static const char pp_sample_chromium_answer[] =
	"v=0\r\n"
	"o=- 2385462307340093290 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:u9Zq\r\n"
	"a=ice-pwd:Zf4x2hWqv1PzYb3N7kLmR8sT\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
	"a=setup:active\r\n"
	"a=mid:0\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* Firefox 121 offer: fingerprint and ice-options at session level, uppercase
 * transport, no generation, end-of-candidates, a huge max-message-size. */
static const char pp_sample_firefox_offer[] =
	"v=0\r\n"
	"o=mozilla...THIS_IS_SDPARTA-99.0 7071399296384960217 0 IN IP4 0.0.0.0\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=sendrecv\r\n"
	"a=fingerprint:sha-256 4C:2E:1B:47:8E:0F:2A:52:3C:9D:7E:11:A0:B3:C4:D5:E6:F7:08:19:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=ice-options:trickle\r\n"
	"a=msid-semantic:WMS *\r\n"
	"m=application 60923 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 198.51.100.23\r\n"
	"a=candidate:0 1 UDP 2122252543 3f1e6c4f-a6fb-4bd2-9d1a-7e5f3bcd7a10.local 60923 typ host\r\n"
	"a=candidate:2 1 TCP 2105524479 3f1e6c4f-a6fb-4bd2-9d1a-7e5f3bcd7a10.local 9 typ host tcptype active\r\n"
	"a=candidate:1 1 UDP 1686052863 198.51.100.23 60923 typ srflx raddr 0.0.0.0 rport 0\r\n"
	"a=candidate:3 1 UDP 92217087 2001:db8:1f::5 61234 typ relay raddr 198.51.100.23 rport 60923\r\n"
	"a=sendrecv\r\n"
	"a=end-of-candidates\r\n"
	"a=ice-pwd:3c6a1fa4b2e5e0d3d2fa1c8d0c4b7e91\r\n"
	"a=ice-ufrag:9b1f8f4e\r\n"
	"a=mid:0\r\n"
	"a=setup:actpass\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:1073741823\r\n";

/* Firefox 121 answer (setup:active), LF line ends as some signaling code
 * passes them on. */
static const char pp_sample_firefox_answer_lf[] =
	"v=0\n"
	"o=mozilla...THIS_IS_SDPARTA-99.0 1403951520536380370 0 IN IP4 0.0.0.0\n"
	"s=-\n"
	"t=0 0\n"
	"a=sendrecv\n"
	"a=fingerprint:sha-256 A9:06:62:1F:C6:95:8D:E2:70:0C:5C:4E:33:7A:53:8A:21:54:8E:0E:44:D1:2B:0F:6D:5C:F3:1E:8A:77:12:3C\n"
	"a=group:BUNDLE 0\n"
	"a=ice-options:trickle\n"
	"a=msid-semantic:WMS *\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
	"c=IN IP4 0.0.0.0\n"
	"a=sendrecv\n"
	"a=ice-pwd:d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6\n"
	"a=ice-ufrag:0f1e2d3c\n"
	"a=mid:0\n"
	"a=setup:active\n"
	"a=sctp-port:5000\n"
	"a=max-message-size:1073741823\n";

/* Chromium with audio and a data channel, max-bundle: audio is the BUNDLE
 * tag and carries the candidates; each section repeats the transport. */
static const char pp_sample_chromium_audio_data[] =
	"v=0\r\n"
	"o=- 8403615332048243445 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0 1\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS 2f5c8e4a-1b2c-4d3e-8f90-a1b2c3d4e5f6\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=candidate:1467250027 1 udp 2122260223 192.0.2.10 46243 typ host generation 0 ufrag YbLk network-id 1\r\n"
	"a=candidate:1853887674 1 udp 1845501695 203.0.113.99 46243 typ srflx raddr 192.0.2.10 rport 46243 generation 0 ufrag YbLk network-id 1\r\n"
	"a=ice-ufrag:YbLk\r\n"
	"a=ice-pwd:k0DkJ9bD4eM3WvEo1hN2q0r7\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 19:E2:1C:3B:4A:9F:8E:7D:6C:5B:4A:39:28:17:06:F5:E4:D3:C2:B1:A0:9F:8E:7D:6C:5B:4A:39:28:17:06:F5\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=sendrecv\r\n"
	"a=msid:2f5c8e4a-1b2c-4d3e-8f90-a1b2c3d4e5f6 7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=rtcp-fb:111 transport-cc\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:63 red/48000/2\r\n"
	"a=fmtp:63 111/111\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:13 CN/8000\r\n"
	"a=rtpmap:110 telephone-event/48000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=ssrc:3735928559 cname:Yq1x2w3e4r5t6y7u\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:YbLk\r\n"
	"a=ice-pwd:k0DkJ9bD4eM3WvEo1hN2q0r7\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 19:E2:1C:3B:4A:9F:8E:7D:6C:5B:4A:39:28:17:06:F5:E4:D3:C2:B1:A0:9F:8E:7D:6C:5B:4A:39:28:17:06:F5\r\n"
	"a=setup:actpass\r\n"
	"a=mid:1\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* Firefox with audio and a data channel under bundlePolicy max-bundle: the
 * data section is bundle-only (port 0 but not rejected). */
static const char pp_sample_firefox_bundle_only[] =
	"v=0\r\n"
	"o=mozilla...THIS_IS_SDPARTA-99.0 5112372339291893871 0 IN IP4 0.0.0.0\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=fingerprint:sha-256 5E:F1:02:13:24:35:46:57:68:79:8A:9B:AC:BD:CE:DF:E0:F1:02:13:24:35:46:57:68:79:8A:9B:AC:BD:CE:DF\r\n"
	"a=group:BUNDLE 0 1\r\n"
	"a=ice-options:trickle\r\n"
	"a=msid-semantic:WMS *\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=sendrecv\r\n"
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ice-pwd:a7c2e1d0f9b8a7c6d5e4f3a2b1c0d9e8\r\n"
	"a=ice-ufrag:4e3d2c1b\r\n"
	"a=mid:0\r\n"
	"a=msid:{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d} {6e7f8a9b-0c1d-4e2f-a3b4-c5d6e7f8a9b0}\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:109 opus/48000/2\r\n"
	"a=rtpmap:9 G722/8000/1\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000/1\r\n"
	"a=setup:actpass\r\n"
	"a=ssrc:2882400001 cname:{0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0}\r\n"
	"m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=bundle-only\r\n"
	"a=sendrecv\r\n"
	"a=ice-pwd:a7c2e1d0f9b8a7c6d5e4f3a2b1c0d9e8\r\n"
	"a=ice-ufrag:4e3d2c1b\r\n"
	"a=mid:1\r\n"
	"a=setup:actpass\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:1073741823\r\n";

/* Firefox before 63 (and Chromium before 71 in some modes): the legacy
 * draft-ietf-mmusic-sctp-sdp-05 form with a=sctpmap. */
static const char pp_sample_legacy_sctpmap[] =
	"v=0\r\n"
	"o=mozilla...THIS_IS_SDPARTA-60.0 3912880429339384413 0 IN IP4 0.0.0.0\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=sendrecv\r\n"
	"a=fingerprint:sha-256 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9\r\n"
	"a=group:BUNDLE sdparta_0\r\n"
	"a=ice-options:trickle\r\n"
	"a=msid-semantic:WMS *\r\n"
	"m=application 9 DTLS/SCTP 5000\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=sendrecv\r\n"
	"a=ice-pwd:5b7d9f1e3c5a7b9d1f3e5c7a9b1d3f5e\r\n"
	"a=ice-ufrag:a1b2c3d4\r\n"
	"a=mid:sdparta_0\r\n"
	"a=sctpmap:5000 webrtc-datachannel 256\r\n"
	"a=setup:actpass\r\n"
	"a=max-message-size:1073741823\r\n";

/* An offer whose audio section is rejected (port 0) before the data one,
 * not bundled, with no a=max-message-size. */
static const char pp_sample_rejected_audio[] =
	"v=0\r\n"
	"o=- 1 1 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=mid:audio\r\n"
	"a=ice-ufrag:zzzz\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:Ab+/\r\n"
	"a=ice-pwd:0123456789abcdefghijkl\r\n"
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
	"a=setup:passive\r\n"
	"a=mid:data\r\n";

#endif
